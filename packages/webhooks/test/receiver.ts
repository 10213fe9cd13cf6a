import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { verifyWebhook } from "../src/index.js"

/** One delivery the receiver accepted, after verifying it with the exported helper. */
export interface Received {
  readonly id: string
  readonly seq: number
  readonly type: string
}

/**
 * A host's webhook endpoint: every request is verified with `verifyWebhook` before it counts;
 * one that fails verification is answered 400 and remembered as a failure. It can go down
 * (the port stops listening) and come back on the same port, or answer with an error status.
 */
export const startReceiver = async (secrets: ReadonlyArray<string>) => {
  const accepted: Received[] = []
  const rejected: string[] = []
  let failWith: number | undefined
  let server: Server
  const listen = (port: number) =>
    new Promise<void>((resolve) => {
      server = createServer((req, res) => {
        const chunks: Buffer[] = []
        req.on("data", (chunk: Buffer) => chunks.push(chunk))
        req.on("end", () => {
          try {
            const { id, payload } = verifyWebhook(secrets, req.headers, Buffer.concat(chunks))
            if (failWith !== undefined) return res.writeHead(failWith).end()
            accepted.push({ id, seq: payload.data.seq, type: payload.type })
            res.writeHead(204).end()
          } catch (error) {
            rejected.push(String(error))
            res.writeHead(400).end()
          }
        })
      })
      server.listen(port, "127.0.0.1", resolve)
    })
  await listen(0)
  const port = (server!.address() as AddressInfo).port
  const stop = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  return {
    url: `http://127.0.0.1:${port}/hooks/dialogi`,
    accepted,
    rejected,
    /** Answers every delivery with this status from now on (undefined: accept again). */
    failWith: (status: number | undefined) => {
      failWith = status
    },
    down: stop,
    up: () => listen(port),
    close: stop
  }
}
export type Receiver = Awaited<ReturnType<typeof startReceiver>>

/** Waits until `check` passes, polling; fails with the last assertion error after `ms`. */
export const eventually = async (check: () => unknown, ms = 30_000): Promise<void> => {
  const start = Date.now()
  for (;;) {
    try {
      await check()
      return
    } catch (error) {
      if (Date.now() - start > ms) throw error
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
}

let counter = 0
/** An inbound email from `who`: one message.received (plus contact/conversation events the first time). */
export const inboundEmail = (who: string, text: string) => ({
  channel: "email",
  providerMessageId: `<${Date.now()}.${++counter}@example.com>`,
  from: { address: `${who}@example.com` },
  parts: [{ _tag: "text" as const, text }],
  sentAt: Date.now()
})
