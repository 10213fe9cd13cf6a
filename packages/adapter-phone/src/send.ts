import { SendFailed, type SendReceipt, type SendRequest } from "@dialogi/core"
import type { PhoneAdapterConfig } from "./config.js"
import { classifyTwilioError } from "./errorCodes.js"
import type { OptOutRegistry } from "./OptOutStore.js"
import { countSegments } from "./segments.js"
import type { TwilioClient } from "./twilioClient.js"

/** Query parameter of the status-callback URL that carries the hub's idempotency key. */
export const idempotencyParam = "k"

/**
 * What the adapter remembers about its own sends: which Twilio message an idempotency key
 * became (learned from receipts and status callbacks) and when a send with an unknown outcome
 * was first tried. In memory: after a restart the look-up falls back to the time window.
 */
export interface SendLedger {
  readonly sidOf: Map<string, string>
  readonly keyOf: Map<string, string>
  readonly unknownSince: Map<string, number>
}

/** An empty {@link SendLedger}. */
export const makeSendLedger = (): SendLedger => ({
  sidOf: new Map(),
  keyOf: new Map(),
  unknownSince: new Map()
})

interface Outgoing {
  readonly body: string
  readonly mediaUrl: string[]
}

const outgoingOf = (channel: string, request: SendRequest): Outgoing => {
  const texts: string[] = []
  const mediaUrl: string[] = []
  for (const part of request.parts) {
    if (part._tag === "text") texts.push(part.text)
    else if (part._tag === "attachment" && /^https?:\/\//.test(part.attachment.ref))
      mediaUrl.push(part.attachment.ref)
    else
      throw new SendFailed({
        channel,
        retryable: false,
        reason: `[dialogi/${channel}] cannot send a ${part._tag} part by SMS (attachments need a public http(s) URL)`
      })
  }
  return { body: texts.join("\n\n"), mediaUrl }
}

// Failures where the request never reached Twilio: safe to repeat.
const notSentCodes = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"])

const failureOf = (channel: string, error: unknown): { failure: SendFailed; unknownOutcome: boolean } => {
  const e = error as { status?: number; code?: number | string; message?: string }
  if (typeof e.status === "number") {
    const code = typeof e.code === "number" ? e.code : undefined
    const cls = classifyTwilioError(code, e.status)
    return {
      failure: new SendFailed({
        channel,
        retryable: cls.retryable,
        reason: `[dialogi/${channel}] ${cls.reason}`,
        code: code === undefined ? `http-${e.status}` : String(code)
      }),
      unknownOutcome: false
    }
  }
  const code = typeof e.code === "string" ? e.code : "network"
  return {
    failure: new SendFailed({
      channel,
      retryable: true,
      reason: `[dialogi/${channel}] request to Twilio failed: ${e.message ?? String(error)}`,
      code
    }),
    // A timeout or reset after the request left: Twilio may have created the message.
    unknownOutcome: !notSentCodes.has(code)
  }
}

/** Dependencies of {@link makeSend}. */
export interface SendDeps {
  readonly channel: string
  readonly config: PhoneAdapterConfig
  readonly client: TwilioClient
  readonly optOuts: OptOutRegistry
  readonly ledger: SendLedger
  readonly now: () => number
}

/**
 * Twilio's Messages API takes no idempotency key. A retry after an unknown outcome therefore
 * first looks for its own earlier attempt: a status callback may already have told us the
 * MessageSid (the key rides in the callback URL), else recent messages to the number with the
 * same sender and body, created since the first unconfirmed attempt, count as that attempt.
 */
const reconcile = async (deps: SendDeps, request: SendRequest, outgoing: Outgoing) => {
  const known = deps.ledger.sidOf.get(request.idempotencyKey)
  if (known) return known
  const window = deps.config.reconcileWindowMs ?? 24 * 60 * 60 * 1000
  // One minute of slack for clock skew between us and Twilio's date_created.
  const since = (deps.ledger.unknownSince.get(request.idempotencyKey) ?? deps.now() - window) - 60_000
  const recent = await deps.client.messages.list({
    to: request.to,
    ...(deps.config.messagingServiceSid === undefined && deps.config.from !== undefined
      ? { from: deps.config.from }
      : {}),
    limit: 50,
    pageSize: 50
  })
  const matches = recent
    .filter(
      (m) =>
        m.direction.startsWith("outbound") &&
        m.body === outgoing.body &&
        m.dateCreated.getTime() >= since &&
        (deps.config.messagingServiceSid === undefined ||
          m.messagingServiceSid === deps.config.messagingServiceSid) &&
        !deps.ledger.keyOf.has(m.sid)
    )
    .sort((a, b) => a.dateCreated.getTime() - b.dateCreated.getTime())
  return matches[0]?.sid
}

/** The `send` of the SMS adapter. */
export const makeSend =
  (deps: SendDeps) =>
  async (request: SendRequest): Promise<SendReceipt> => {
    const { channel, config } = deps
    const optedOut = await deps.optOuts.lookup(request.to)
    if (optedOut)
      throw new SendFailed({
        channel,
        retryable: false,
        reason: `[dialogi/${channel}] recipient opted out (${optedOut.keyword} at ${new Date(optedOut.at).toISOString()})`,
        code: "21610"
      })
    const outgoing = outgoingOf(channel, request)
    const segments = countSegments(outgoing.body)
    if (config.maxSegments !== undefined && segments.segments > config.maxSegments)
      throw new SendFailed({
        channel,
        retryable: false,
        reason: `[dialogi/${channel}] text needs ${segments.segments} ${segments.encoding} segments, more than maxSegments ${config.maxSegments}`
      })
    if (request.attempt > 1 || deps.ledger.unknownSince.has(request.idempotencyKey)) {
      const earlier = await reconcile(deps, request, outgoing).catch((error: unknown) => {
        throw failureOf(channel, error).failure
      })
      if (earlier) {
        deps.ledger.sidOf.set(request.idempotencyKey, earlier)
        deps.ledger.keyOf.set(earlier, request.idempotencyKey)
        deps.ledger.unknownSince.delete(request.idempotencyKey)
        return { providerMessageId: earlier }
      }
    }
    const statusCallback = new URL(`${config.smsWebhookUrl.replace(/\/$/, "")}/status`)
    statusCallback.searchParams.set(idempotencyParam, request.idempotencyKey)
    const started = deps.now()
    try {
      const message = await deps.client.messages.create({
        to: request.to,
        ...(config.messagingServiceSid !== undefined
          ? { messagingServiceSid: config.messagingServiceSid }
          : { from: config.from as string }),
        ...(outgoing.body.length > 0 ? { body: outgoing.body } : {}),
        ...(outgoing.mediaUrl.length > 0 ? { mediaUrl: outgoing.mediaUrl } : {}),
        statusCallback: statusCallback.href
      })
      deps.ledger.sidOf.set(request.idempotencyKey, message.sid)
      deps.ledger.keyOf.set(message.sid, request.idempotencyKey)
      deps.ledger.unknownSince.delete(request.idempotencyKey)
      return { providerMessageId: message.sid, status: message.status === "sent" ? "sent" : "queued" }
    } catch (error) {
      const { failure, unknownOutcome } = failureOf(channel, error)
      if (unknownOutcome && !deps.ledger.unknownSince.has(request.idempotencyKey))
        deps.ledger.unknownSince.set(request.idempotencyKey, started)
      const code = Number(failure.code)
      if (classifyTwilioError(Number.isNaN(code) ? undefined : code).optOut)
        await deps.optOuts.record({
          number: request.to,
          optedOut: true,
          keyword: "twilio-21610",
          at: deps.now()
        })
      throw failure
    }
  }
