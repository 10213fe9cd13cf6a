import { createHmac } from "node:crypto"
import http from "node:http"

/** One webhook delivery the fake provider must get acknowledged (2xx). */
export interface Delivery {
  readonly id: string
  readonly from: string
  readonly text: string
  readonly sentAt: number
}

/** What the sender saw; `attempts - deliveries` is the number of retries. */
export interface SendStats {
  acked: number
  attempts: number
  /** Retries by cause: "ECONNREFUSED", "ECONNRESET", "503", "timeout", ... */
  readonly failures: Record<string, number>
  /** 2xx answers that said the message had already been stored (a retry of a committed one). */
  duplicates: number
  readonly ackedAt: number[]
}

export interface SenderOptions {
  readonly port: () => number
  readonly secret: string
  readonly concurrency: number
  readonly requestTimeoutMs: number
  /** Called after every acknowledged delivery with the running count. */
  readonly onAck?: (acked: number) => void
  /** Aborting stops the run with the signal's reason (e.g. the hub died on its own). */
  readonly signal?: AbortSignal
}

const sign = (secret: string, body: string) =>
  `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

type Outcome = { readonly status: number; readonly body: string } | { readonly error: string }

const post = (agent: http.Agent, port: number, body: string, signature: string, timeoutMs: number) =>
  new Promise<Outcome>((resolve) => {
    let settled = false
    const done = (outcome: Outcome) => {
      if (!settled) {
        settled = true
        resolve(outcome)
      }
    }
    const request = http.request(
      {
        agent,
        host: "127.0.0.1",
        port,
        path: "/webhooks/test",
        method: "POST",
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
          "x-dialogi-test-signature": signature
        }
      },
      (response) => {
        const chunks: Buffer[] = []
        response.on("data", (chunk: Buffer) => chunks.push(chunk))
        response.on("end", () =>
          done({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") })
        )
        response.on("error", (error: NodeJS.ErrnoException) => done({ error: error.code ?? error.message }))
      }
    )
    request.setTimeout(timeoutMs, () => {
      done({ error: "timeout" })
      request.destroy()
    })
    request.on("error", (error: NodeJS.ErrnoException) => done({ error: error.code ?? error.message }))
    request.end(body)
  })

/**
 * Posts every delivery with `concurrency` requests in flight, retrying each (small jittered
 * backoff) until it gets a 2xx: refused or reset connections, timeouts and 5xx all mean retry,
 * as a webhook provider would. A 4xx is a bug of the test or the hub and fails the run.
 */
export const sendAll = async (deliveries: ReadonlyArray<Delivery>, options: SenderOptions) => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency })
  const stats: SendStats = { acked: 0, attempts: 0, failures: {}, duplicates: 0, ackedAt: [] }
  let next = 0
  const worker = async () => {
    while (next < deliveries.length) {
      const delivery = deliveries[next++]!
      const body = JSON.stringify(delivery)
      const signature = sign(options.secret, body)
      for (let attempt = 0; ; attempt++) {
        options.signal?.throwIfAborted()
        stats.attempts += 1
        const outcome = await post(agent, options.port(), body, signature, options.requestTimeoutMs)
        if ("status" in outcome && outcome.status >= 200 && outcome.status < 300) {
          if ((JSON.parse(outcome.body) as { duplicate?: boolean }).duplicate) stats.duplicates += 1
          stats.acked += 1
          stats.ackedAt.push(Date.now())
          options.onAck?.(stats.acked)
          break
        }
        if ("status" in outcome && outcome.status >= 400 && outcome.status < 500)
          throw new Error(`delivery ${delivery.id} got ${outcome.status}: ${outcome.body}`)
        const cause = "status" in outcome ? String(outcome.status) : outcome.error
        stats.failures[cause] = (stats.failures[cause] ?? 0) + 1
        await sleep(Math.min(500, 10 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random()))
      }
    }
  }
  try {
    await Promise.all(Array.from({ length: options.concurrency }, worker))
  } finally {
    agent.destroy()
  }
  return stats
}
