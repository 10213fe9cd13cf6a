import type {
  AdapterContext,
  AttachmentRef,
  ChannelAdapter,
  DialogiHub,
  InboundEnvelopeInput,
  MessagePart
} from "@dialogi/core"
import { isHookVetoed, SendFailed } from "@dialogi/core"
import twilio from "twilio"
import type { AttachmentStore } from "./AttachmentStore.js"
import { callbackRoutes, makeCallbackDialer } from "./callbackDialer.js"
import type { CallerConversations } from "./callerConversations.js"
import { voiceCapabilities } from "./capabilities.js"
import type { PhoneAdapterConfig } from "./config.js"
import { expectedAnswerSentence } from "./expectedAnswer.js"
import type { KeyValueStore } from "./KeyValueStore.js"
import { copyTwilioMedia, extensionOf } from "./mediaCopy.js"
import { mediaCopyOptions } from "./mediaCopyOptions.js"
import { MalformedWebhook, toE164 } from "./parse.js"
import { errorResponse, ingestFailureResponse, twimlResponse } from "./responses.js"
import { publicUrlOf, verifyTwilioRequest } from "./signature.js"
import type { TwilioClient } from "./twilioClient.js"

type Params = Readonly<Record<string, string>>

/** Sub-routes below `voiceWebhookUrl` that Twilio calls during one call. */
export const voiceRoutes = {
  incoming: "",
  dialStatus: "/dial-status",
  recording: "/recording",
  transcription: "/transcription"
} as const

/** The part of the hub the voice adapter reads once attached: SLA clocks, callbacks, events. */
export type VoiceHub = Pick<DialogiHub, "sla" | "callbacks" | "events">

/** The `voice` adapter, with what needs the hub itself. */
export interface VoiceAdapter extends ChannelAdapter {
  /**
   * Gives the adapter the hub it is registered with (created after the adapters): the greeting
   * then tells the caller the SLA's expected answer time, and due callbacks are dialled.
   */
  readonly attach: (hub: VoiceHub) => Promise<void>
}

/** Shared state the voice adapter is built from. */
export interface VoiceAdapterDeps {
  readonly config: PhoneAdapterConfig
  readonly now: () => number
  readonly client: TwilioClient
  readonly state: KeyValueStore
  readonly callers: CallerConversations
  /** Where recordings are copied; absent = they stay references to Twilio's URLs. */
  readonly attachmentStore?: AttachmentStore | undefined
}

const routeOf = (pathname: string): keyof typeof voiceRoutes => {
  const path = pathname.replace(/\/$/, "")
  for (const key of ["dialStatus", "recording", "transcription"] as const)
    if (path.endsWith(voiceRoutes[key])) return key
  return "incoming"
}

/**
 * Creates the `voice` adapter: answers inbound calls with TwiML (greeting, optional ring of an
 * agent, else voicemail with transcription) and puts the call's outcome, the recording and
 * the transcript into the caller's thread. It sends nothing: replies to callers go by SMS.
 */
export const createVoiceAdapter = (deps: VoiceAdapterDeps): VoiceAdapter => {
  const { config } = deps
  const voice = config.voice ?? {}
  const channel = config.channels?.voice ?? "voice"
  const smsChannel = config.channels?.sms ?? "sms"
  const base = config.voiceWebhookUrl
  let context: AdapterContext | undefined
  let hub: VoiceHub | undefined
  const dialer = makeCallbackDialer({
    config,
    client: deps.client,
    state: deps.state,
    now: deps.now,
    log: (level, message, data) => context?.log(level, message, data)
  })
  const url = (route: string) => `${(base ?? "").replace(/\/$/, "")}${route}`

  const voicemailTwiml = (response: twilio.twiml.VoiceResponse) => {
    response.say(voice.voicemailPrompt ?? "Please leave a message after the tone.")
    response.record({
      action: url(voiceRoutes.recording),
      method: "POST",
      maxLength: voice.maxRecordingSeconds ?? 120,
      playBeep: true,
      transcribe: true,
      transcribeCallback: url(voiceRoutes.transcription)
    })
    // Reached only when the caller records nothing (Record falls through without a recording).
    response.say("We did not receive a message. Goodbye.")
    response.hangup()
    return response
  }

  const envelope = (params: Params, kind: string, parts: MessagePart[]): InboundEnvelopeInput => {
    const callSid = params.CallSid
    if (!callSid) throw new MalformedWebhook(`[dialogi/${channel}] webhook lacks CallSid`)
    const rawFrom = params.From
    if (!rawFrom) throw new MalformedWebhook(`[dialogi/${channel}] webhook lacks From`)
    const from = toE164(channel, rawFrom, config.defaultRegion)
    return {
      channel,
      // One call produces several events (answered, voicemail, transcript): the call id plus
      // the event kind is the dedupe key, so each is stored once whatever Twilio retries.
      providerMessageId: `${callSid}:${kind}`,
      from: { address: from, verified: false },
      claims:
        config.linkSmsAndVoice === false ? [] : [{ channel: smsChannel, address: from, verified: true }],
      parts,
      sentAt: deps.now(),
      metadata: { callSid, to: params.To, event: kind }
    }
  }

  const ingest = async (env: InboundEnvelopeInput) => {
    if (!context)
      throw Object.assign(new Error(`[dialogi/${channel}] hub not started`), { _tag: "NotStarted" })
    try {
      const receipt = await context.ingest(env)
      await deps.callers.remember(env.from.address, receipt.conversationId)
    } catch (error) {
      // A vetoed call event is recorded by the hub (hook.ingest_vetoed) and only kept out of the
      // thread: the call itself goes on with the TwiML it would get anyway, and Twilio gets a 200
      // rather than retrying the callback into the same veto.
      if (!isHookVetoed(error)) throw error
    }
  }

  /** The SLA sentence for a caller whose thread has a running clock; undefined otherwise. */
  const expectedAnswerOf = async (params: Params): Promise<string | undefined> => {
    if (!hub || !params.From) return undefined
    try {
      const conversationId = await deps.callers.of(toE164(channel, params.From, config.defaultRegion))
      if (conversationId === undefined) return undefined
      const expected = await hub.sla.expectedReply(conversationId)
      if (expected === undefined) return undefined
      const now = new Date(deps.now())
      return voice.expectedAnswer
        ? voice.expectedAnswer(expected, now)
        : expectedAnswerSentence(expected, now)
    } catch (error) {
      // The greeting must be answered within Twilio's 15 s: without the clock it just says less.
      context?.log("warn", `[dialogi/${channel}] no expected answer time for the greeting`, error)
      return undefined
    }
  }

  const onIncoming = async (params: Params) => {
    const response = new twilio.twiml.VoiceResponse()
    if (voice.greeting) response.say(voice.greeting)
    const expected = await expectedAnswerOf(params)
    if (expected) response.say(expected)
    const agent = typeof voice.forwardTo === "function" ? await voice.forwardTo() : voice.forwardTo
    if (agent) {
      const dial = response.dial({
        timeout: voice.dialTimeoutSeconds ?? 20,
        action: url(voiceRoutes.dialStatus),
        method: "POST",
        ...(params.To ? { callerId: params.To } : {})
      })
      dial.number(toE164(channel, agent, config.defaultRegion))
      return response
    }
    return voicemailTwiml(response)
  }

  const onDialStatus = async (params: Params) => {
    if (params.DialCallStatus === "completed" || params.DialCallStatus === "answered") {
      const duration = Number(params.DialCallDuration ?? "0")
      await ingest(
        envelope(params, "answered", [
          {
            _tag: "call",
            event: "answered",
            durationSeconds: Number.isFinite(duration) ? duration : 0,
            ...(params.From ? { from: params.From } : {}),
            ...(params.To ? { to: params.To } : {})
          }
        ])
      )
      const response = new twilio.twiml.VoiceResponse()
      response.hangup()
      return response
    }
    return voicemailTwiml(new twilio.twiml.VoiceResponse())
  }

  /**
   * The recording as an attachment ref: a copy in the attachment store when one is configured,
   * else (or when the copy fails) Twilio's URL. A failed copy does not fail the webhook: the
   * caller is still on the line for the Record action, and Twilio does not retry it anyway.
   */
  const recordingOf = async (params: Params): Promise<AttachmentRef> => {
    // RecordingUrl has no extension; `.mp3` selects the format.
    const twilioRef = { ref: `${params.RecordingUrl}.mp3`, contentType: "audio/mpeg" }
    const store = deps.attachmentStore
    if (!store) return twilioRef
    const sid = (params.RecordingSid ?? params.RecordingUrl?.split("/").pop() ?? "recording").replace(
      /[^A-Za-z0-9_-]/g,
      "_"
    )
    try {
      const copy = await copyTwilioMedia(
        twilioRef.ref,
        twilioRef.contentType,
        (type) => `recordings/${sid}.${extensionOf(type)}`,
        mediaCopyOptions(config, channel, store)
      )
      if (copy.copied) return { ref: copy.ref, contentType: copy.contentType, size: copy.size }
      context?.log("warn", `[dialogi/${channel}] recording ${sid} kept at Twilio: ${copy.reason}`)
    } catch (error) {
      context?.log("warn", `[dialogi/${channel}] recording ${sid} kept at Twilio`, error)
    }
    return twilioRef
  }

  const onRecording = async (params: Params) => {
    const recordingUrl = params.RecordingUrl
    const duration = Number(params.RecordingDuration ?? "0")
    const call = {
      _tag: "call" as const,
      ...(params.From ? { from: params.From } : {}),
      ...(params.To ? { to: params.To } : {})
    }
    if (!recordingUrl || !(duration > 0)) {
      await ingest(envelope(params, "missed", [{ ...call, event: "missed" }]))
    } else {
      await ingest(
        envelope(params, "voicemail", [
          { ...call, event: "voicemail", durationSeconds: duration },
          {
            _tag: "voice",
            recording: await recordingOf(params),
            durationSeconds: duration
          }
        ])
      )
    }
    const response = new twilio.twiml.VoiceResponse()
    response.say("Thank you. Goodbye.")
    response.hangup()
    return response
  }

  const onTranscription = async (params: Params) => {
    // Failed transcriptions (recordings under 2 s or over 120 s, error 13617) add nothing: the
    // recording is already in the thread.
    if (params.TranscriptionStatus === "completed" && params.RecordingUrl) {
      await ingest(
        envelope(params, "transcript", [
          {
            _tag: "voice",
            recording: await recordingOf(params),
            transcript: params.TranscriptionText ?? ""
          }
        ])
      )
    }
    return new twilio.twiml.VoiceResponse()
  }

  return {
    channel,
    capabilities: voiceCapabilities,
    addressKind: "phone",
    attach: async (target) => {
      hub = target
      await dialer.attach(target)
    },
    start: async (ctx) => {
      if (base === undefined) throw new Error(`[dialogi/${channel}] voiceWebhookUrl is not configured`)
      context = ctx
    },
    stop: async () => {
      await dialer.stop()
      context = undefined
      hub = undefined
    },
    send: async () => {
      throw new SendFailed({
        channel,
        retryable: false,
        reason: `[dialogi/${channel}] the voice channel carries no written replies; answer by ${smsChannel}`
      })
    },
    handleWebhook: async (request) => {
      if (request.method !== "POST") return errorResponse(405, `[dialogi/${channel}] POST only`)
      if (base === undefined)
        return errorResponse(503, `[dialogi/${channel}] voiceWebhookUrl is not configured`)
      const pathname = new URL(request.url).pathname
      const callbackRoute = dialer.owns(pathname)
      const route = routeOf(pathname)
      const verified = await verifyTwilioRequest(
        config.authToken,
        request,
        publicUrlOf(base, callbackRoute ? callbackRoutes[callbackRoute] : voiceRoutes[route], request)
      )
      if (!verified) return errorResponse(403, `[dialogi/${channel}] invalid X-Twilio-Signature`)
      if (!context) return errorResponse(503, `[dialogi/${channel}] hub not started`)
      if (callbackRoute)
        try {
          return twimlResponse(await dialer.handle(callbackRoute, new URL(verified.url), verified.params))
        } catch (error) {
          if (error instanceof MalformedWebhook) return errorResponse(400, error.message)
          context.log("warn", `[dialogi/${channel}] callback webhook failed`, error)
          return ingestFailureResponse(channel, error)
        }
      try {
        const handlers = {
          incoming: onIncoming,
          dialStatus: onDialStatus,
          recording: onRecording,
          transcription: onTranscription
        }
        const response = await handlers[route](verified.params)
        return twimlResponse(response.toString())
      } catch (error) {
        if (error instanceof MalformedWebhook) return errorResponse(400, error.message)
        return ingestFailureResponse(channel, error)
      }
    },
    checkReply: () => ({ _tag: "CapabilityMissing", channel, capability: "text" })
  }
}
