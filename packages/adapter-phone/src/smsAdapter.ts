import type { AdapterContext, ChannelAdapter, InboundEnvelopeInput, StatusUpdateInput } from "@dialogi/core"
import twilio from "twilio"
import type { AttachmentStore } from "./AttachmentStore.js"
import type { CallerConversations } from "./callerConversations.js"
import { smsCapabilities } from "./capabilities.js"
import type { PhoneAdapterConfig } from "./config.js"
import { keywordOf } from "./keywords.js"
import { copyInboundMedia } from "./mediaCopy.js"
import { mediaCopyOptions } from "./mediaCopyOptions.js"
import type { OptOutRegistry } from "./OptOutStore.js"
import { MalformedWebhook, smsEnvelopeOf, statusUpdateOf } from "./parse.js"
import { errorResponse, ingestFailureResponse, twimlResponse } from "./responses.js"
import { idempotencyParam, makeSend, type SendLedger } from "./send.js"
import { publicUrlOf, verifyTwilioRequest } from "./signature.js"
import type { TwilioClient } from "./twilioClient.js"

/** The `sms` adapter, with the state tests and hosts may inspect. */
export interface SmsAdapter extends ChannelAdapter {
  /** Opt-out state of numbers, answered from the loaded copy. */
  readonly optOuts: OptOutRegistry
}

/** Shared state the phone adapters are built from. */
export interface SmsAdapterDeps {
  readonly config: PhoneAdapterConfig
  readonly client: TwilioClient
  readonly optOuts: OptOutRegistry
  readonly ledger: SendLedger
  readonly callers: CallerConversations
  readonly now: () => number
  /** Where MMS media are copied; absent = they stay references to Twilio's URLs. */
  readonly attachmentStore?: AttachmentStore | undefined
  /** Say at start that opt-outs live in memory only (no state store was configured). */
  readonly volatileWarning?: boolean | undefined
}

// A status callback can beat the hub storing the send receipt (Twilio answers the POST and
// calls back within milliseconds); Twilio does not retry status callbacks, so we do.
const statusRetryDelaysMs = [250, 1_000, 3_000, 10_000]

/** Creates the `sms` adapter: inbound SMS/MMS, opt-out keywords, sends and status callbacks. */
export const createSmsAdapter = (deps: SmsAdapterDeps): SmsAdapter => {
  const { config } = deps
  const channel = config.channels?.sms ?? "sms"
  const voiceChannel = config.channels?.voice ?? "voice"
  const timers = new Set<NodeJS.Timeout>()
  let context: AdapterContext | undefined

  const applyStatus = async (update: StatusUpdateInput, attempt = 0): Promise<void> => {
    if (!context) return
    try {
      await context.updateStatus(update)
    } catch (error) {
      const tag = (error as { _tag?: string })._tag
      const delay = statusRetryDelaysMs[attempt]
      if ((tag === "NotFound" || tag === "StoreError") && delay !== undefined) {
        const timer = setTimeout(() => {
          timers.delete(timer)
          void applyStatus(update, attempt + 1)
        }, delay)
        timers.add(timer)
        return
      }
      context.log(
        "warn",
        `[dialogi/${channel}] status callback dropped for ${update.providerMessageId}`,
        error
      )
    }
  }

  const handleStatus = async (request: Request): Promise<Response> => {
    const verified = await verifyTwilioRequest(
      config.authToken,
      request,
      publicUrlOf(config.smsWebhookUrl, "/status", request)
    )
    if (!verified) return errorResponse(403, `[dialogi/${channel}] invalid X-Twilio-Signature`)
    if (!context) return errorResponse(503, `[dialogi/${channel}] hub not started`)
    let update: StatusUpdateInput | undefined
    try {
      update = statusUpdateOf(channel, verified.params, deps.now())
    } catch (error) {
      return ingestFailureResponse(channel, error)
    }
    const key = new URL(verified.url).searchParams.get(idempotencyParam)
    const sid = verified.params.MessageSid
    if (key && sid) {
      deps.ledger.sidOf.set(key, sid)
      deps.ledger.keyOf.set(sid, key)
    }
    if (update) await applyStatus(update)
    return twimlResponse(new twilio.twiml.MessagingResponse().toString())
  }

  const withCopiedMedia = async (envelope: InboundEnvelopeInput, store: AttachmentStore) => {
    if (!envelope.parts.some((p) => p._tag === "attachment")) return envelope
    const copied = await copyInboundMedia(
      envelope.providerMessageId,
      envelope.parts,
      mediaCopyOptions(config, channel, store)
    )
    return {
      ...envelope,
      parts: copied.parts,
      metadata: {
        ...envelope.metadata,
        ...(copied.notCopied.length > 0 ? { mediaNotCopied: copied.notCopied } : {})
      }
    }
  }

  const handleInbound = async (request: Request): Promise<Response> => {
    const verified = await verifyTwilioRequest(
      config.authToken,
      request,
      publicUrlOf(config.smsWebhookUrl, "", request)
    )
    if (!verified) return errorResponse(403, `[dialogi/${channel}] invalid X-Twilio-Signature`)
    if (!context) return errorResponse(503, `[dialogi/${channel}] hub not started`)
    try {
      const now = deps.now()
      const parsed = smsEnvelopeOf(verified.params, {
        channel,
        defaultRegion: config.defaultRegion,
        linkedChannel: config.linkSmsAndVoice === false ? undefined : voiceChannel,
        now
      })
      const envelope = deps.attachmentStore ? await withCopiedMedia(parsed, deps.attachmentStore) : parsed
      const keyword = keywordOf(verified.params.Body ?? "")
      if (keyword && keyword.intent !== "help")
        // Recorded before the message is committed and acknowledged: a STOP is never lost,
        // and a retried STOP only rewrites the same state.
        await deps.optOuts.record({
          number: envelope.from.address,
          optedOut: keyword.intent === "opt-out",
          keyword: keyword.keyword,
          at: now
        })
      const receipt = await context.ingest(
        keyword ? { ...envelope, metadata: { ...envelope.metadata, keyword: keyword.keyword } } : envelope
      )
      await deps.callers.remember(envelope.from.address, receipt.conversationId)
      // Empty TwiML: Twilio itself answers STOP/START/HELP when Advanced Opt-Out is on.
      return twimlResponse(new twilio.twiml.MessagingResponse().toString())
    } catch (error) {
      if (error instanceof MalformedWebhook) return errorResponse(400, error.message)
      return ingestFailureResponse(channel, error)
    }
  }

  return {
    channel,
    capabilities: smsCapabilities,
    addressKind: "phone",
    optOuts: deps.optOuts,
    start: async (ctx) => {
      await deps.optOuts.start()
      if (deps.volatileWarning)
        ctx.log(
          "warn",
          `[dialogi/${channel}] opt-outs are kept in memory and lost on restart: set stateStore or stateDirectory`
        )
      context = ctx
    },
    stop: async () => {
      context = undefined
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
    },
    send: makeSend({ ...deps, channel }),
    handleWebhook: async (request) => {
      if (request.method !== "POST") return errorResponse(405, `[dialogi/${channel}] POST only`)
      return new URL(request.url).pathname.replace(/\/$/, "").endsWith("/status")
        ? handleStatus(request)
        : handleInbound(request)
    },
    checkReply: async ({ address }) => {
      const record = await deps.optOuts.lookup(address)
      return record
        ? {
            _tag: "OptedOut",
            channel,
            detail: `${address} replied ${record.keyword} on ${new Date(record.at).toISOString()}; no SMS until they reply START`
          }
        : undefined
    }
  }
}
