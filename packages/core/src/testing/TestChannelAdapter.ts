import { createHmac, timingSafeEqual } from "node:crypto"
import type { ChannelCapabilities } from "../adapter/Capabilities.js"
import type { AdapterContext, ChannelAdapter, SendReceipt, SendRequest } from "../adapter/ChannelAdapter.js"
import { SendFailed } from "../adapter/SendFailed.js"
import { isHookVetoed } from "../hooks/HookErrors.js"

/** The JSON a test channel's webhook carries: one inbound message. */
export interface TestWebhookPayload {
  readonly id: string
  readonly from: string
  readonly text: string
  readonly sentAt?: number
  readonly name?: string
  readonly verified?: boolean
  readonly claims?: ReadonlyArray<{
    readonly channel: string
    readonly address: string
    readonly verified: boolean
  }>
  readonly conversationId?: string
}

/** Header that carries the signature, like a provider's `X-Hub-Signature-256`. */
export const testSignatureHeader = "x-dialogi-test-signature"

/** Signs a webhook body the way the test channel verifies it (HMAC-SHA256, hex). */
export const signTestWebhook = (secret: string, body: string): string =>
  `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`

/** Options of {@link createTestChannelAdapter}. */
export interface TestChannelOptions {
  readonly channel?: string
  readonly secret?: string
  readonly capabilities?: Partial<ChannelCapabilities>
}

/** A scripted outcome for the next sends. */
export type ScriptedFailure = {
  readonly retryable: boolean
  readonly reason?: string
  readonly code?: string
}

/** A test channel adapter, plus controls for tests. */
export interface TestChannelAdapter extends ChannelAdapter {
  /** Messages delivered so far, in order. */
  readonly sent: SendRequest[]
  /** Every send attempt, including failed ones. */
  readonly attempts: SendRequest[]
  /** Makes the next `times` sends fail with `failure`. */
  readonly failNext: (times: number, failure: ScriptedFailure) => void
  /** A signed webhook request for `payload`, as the provider would send it. */
  readonly signedRequest: (payload: TestWebhookPayload, url?: string) => Request
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } })

const verify = (secret: string, body: string, header: string | null): boolean => {
  if (!header) return false
  const expected = Buffer.from(signTestWebhook(secret, body))
  const given = Buffer.from(header)
  return expected.length === given.length && timingSafeEqual(expected, given)
}

/**
 * A complete channel adapter over a signed JSON webhook: the fake provider of core's tests
 * and the reference for adapter authors. It verifies before parsing, answers 2xx only after
 * the hub committed, and 5xx when the store failed so that the provider retries.
 */
export const createTestChannelAdapter = (options: TestChannelOptions = {}): TestChannelAdapter => {
  const channel = options.channel ?? "test"
  const secret = options.secret ?? "test-secret"
  const sent: SendRequest[] = []
  const attempts: SendRequest[] = []
  const script: ScriptedFailure[] = []
  let context: AdapterContext | undefined
  let counter = 0

  const handleWebhook = async (request: Request): Promise<Response> => {
    if (request.method !== "POST") return json(405, { error: "method not allowed" })
    const body = await request.text()
    if (!verify(secret, body, request.headers.get(testSignatureHeader)))
      return json(403, { error: "invalid signature" })
    if (!context) return json(503, { error: "hub not started" })
    let payload: TestWebhookPayload
    try {
      payload = JSON.parse(body) as TestWebhookPayload
    } catch {
      return json(400, { error: "body is not JSON" })
    }
    try {
      const receipt = await context.ingest({
        channel,
        providerMessageId: String(payload.id),
        from: {
          address: String(payload.from),
          ...(payload.name === undefined ? {} : { name: payload.name }),
          verified: payload.verified ?? false
        },
        claims: payload.claims ?? [],
        parts: [{ _tag: "text", text: String(payload.text) }],
        sentAt: payload.sentAt ?? Date.now(),
        ...(payload.conversationId === undefined
          ? {}
          : { threading: { conversationId: payload.conversationId } })
      })
      return json(200, receipt)
    } catch (error) {
      const tag = (error as { _tag?: string })._tag
      if (tag === "InvalidInput" || tag === "InvalidAddress")
        return json(400, { error: tag, detail: String(error) })
      // A hook vetoed it and the hub recorded that: a retry would be vetoed again, so accept it.
      if (isHookVetoed(error)) return json(200, { vetoed: error.reason })
      return json(503, { error: "not stored, retry later" })
    }
  }

  return {
    channel,
    capabilities: {
      text: true,
      html: false,
      attachments: false,
      typing: false,
      readReceipts: false,
      deliveryReceipts: true,
      canInitiate: true,
      ...options.capabilities
    },
    sent,
    attempts,
    start: async (ctx) => {
      context = ctx
    },
    stop: async () => {
      context = undefined
    },
    send: async (request): Promise<SendReceipt> => {
      attempts.push(request)
      const failure = script.shift()
      if (failure)
        throw new SendFailed({
          channel,
          reason: failure.reason ?? (failure.retryable ? "provider unavailable" : "recipient blocked"),
          retryable: failure.retryable,
          code: failure.code,
          retryAfterMs: failure.retryable ? 10 : undefined
        })
      sent.push(request)
      counter += 1
      return { providerMessageId: `${channel}-out-${counter}-${request.messageId}` }
    },
    handleWebhook,
    failNext: (times, failure) => {
      for (let i = 0; i < times; i++) script.push(failure)
    },
    signedRequest: (payload, url = "http://localhost/webhooks/test") => {
      const body = JSON.stringify(payload)
      return new Request(url, {
        method: "POST",
        headers: { "content-type": "application/json", [testSignatureHeader]: signTestWebhook(secret, body) },
        body
      })
    }
  }
}
