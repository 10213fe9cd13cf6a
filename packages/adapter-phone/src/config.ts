import type { Callback } from "@dialogi/core"
import type { AttachmentStore } from "./AttachmentStore.js"
import type { ExpectedAnswer } from "./expectedAnswer.js"
import type { KeyValueStore } from "./KeyValueStore.js"
import type { OptOutStore } from "./OptOutStore.js"

/** The agent who takes one attempt of a callback. */
export interface CallbackAgent {
  /** The hub participant (`hub.routing`) recorded as the one who took the call. */
  readonly participantId: string
  /** The agent's phone (E.164), rung first; the customer is dialled once the agent answers. */
  readonly number: string
}

/** How due callbacks (`hub.callbacks`) are dialled. */
export interface CallbackConfig {
  /**
   * Picks the agent for an attempt; undefined = nobody free now: a due callback is looked at
   * again after `retryPauseMs` while its window is open.
   */
  readonly agent: (
    callback: Callback,
    attempt: number
  ) => CallbackAgent | undefined | Promise<CallbackAgent | undefined>
  /** Caller id of the calls (a Twilio voice number, E.164); default the adapters' `from`. */
  readonly from?: string | undefined
  /** Seconds each leg rings (Twilio `Timeout`, at most 600); default 25. */
  readonly ringSeconds?: number | undefined
  /** Pause after an unanswered or busy attempt before the next one; default 120,000 ms. */
  readonly retryPauseMs?: number | undefined
  /** Attempts before the callback is given up as missed (while the window lasts); default 3. */
  readonly maxAttempts?: number | undefined
  /** What the agent hears before the customer is dialled. */
  readonly whisper?: ((callback: Callback) => string) | undefined
}

/** How the voice adapter answers an inbound call. */
export interface VoiceConfig {
  /** Said first on every inbound call. */
  readonly greeting?: string | undefined
  /**
   * The sentence after the greeting when the caller's thread has a running SLA clock
   * (`hub.sla.expectedReply`, once `phone.attach(hub)` ran); default "We expect to answer you
   * within about 2 hours.". Return undefined to say nothing.
   */
  readonly expectedAnswer?: ((expected: ExpectedAnswer, now: Date) => string | undefined) | undefined
  /** An agent's number to ring before voicemail (E.164); absent = straight to voicemail. */
  readonly forwardTo?: string | (() => string | undefined | Promise<string | undefined>) | undefined
  /** Seconds the agent's phone rings before the caller is sent to voicemail (Twilio default 30). */
  readonly dialTimeoutSeconds?: number | undefined
  /** Said before the beep of the voicemail. */
  readonly voicemailPrompt?: string | undefined
  /** Longest voicemail in seconds; Twilio transcribes only recordings of 2-120 s. */
  readonly maxRecordingSeconds?: number | undefined
}

/** Configuration shared by the `sms` and `voice` adapters. */
export interface PhoneAdapterConfig {
  /** Twilio Account SID (AC...). */
  readonly accountSid: string
  /** Twilio auth token: signs webhooks and authenticates REST calls. */
  readonly authToken: string
  /**
   * Public URL of the `sms` webhook as Twilio calls it, e.g. "https://support.example.com/twilio/sms".
   * Twilio signs the URL it called; behind a proxy the internal URL differs, so the signed URL
   * is built from this value, never from the Host header. Status callbacks go to `<smsWebhookUrl>/status`.
   */
  readonly smsWebhookUrl: string
  /** Public URL of the `voice` webhook; recordings and transcriptions come back below it. */
  readonly voiceWebhookUrl?: string | undefined
  /** Messaging Service SID (MG...) used to send; preferred over `from` when both are set. */
  readonly messagingServiceSid?: string | undefined
  /** Sender number (E.164) used when no Messaging Service is configured. */
  readonly from?: string | undefined
  /** Region for national numbers without a country code ("FI"); Twilio sends E.164 anyway. */
  readonly defaultRegion?: string | undefined
  /**
   * Where opt-outs (STOP/START) are kept; default `keyValueOptOutStore` on `stateStore`.
   */
  readonly optOutStore?: OptOutStore | undefined
  /**
   * The adapters' own durable state (opt-outs, callback cursor and pending retries). Default:
   * files under `stateDirectory` when set, else memory (lost on restart; a warning is logged).
   */
  readonly stateStore?: KeyValueStore | undefined
  /** A directory for `fileKeyValueStore` when no `stateStore` is given. */
  readonly stateDirectory?: string | undefined
  /**
   * Copy MMS media into an attachment store (the stored message then points at the copy, not
   * at Twilio). Default: files under `attachments.directory`, else `<stateDirectory>/attachments`;
   * with neither, media stay references to Twilio's URLs.
   */
  readonly attachments?:
    | {
        readonly store?: AttachmentStore | undefined
        readonly directory?: string | undefined
        /** Largest medium copied (default 5 MB, Twilio's MMS limit); larger ones stay Twilio refs. */
        readonly maxBytes?: number | undefined
        /** Per medium (default 8 s: Twilio allows 15 s for the whole webhook). */
        readonly timeoutMs?: number | undefined
      }
    | undefined
  /** Dial callbacks scheduled with `hub.callbacks` (needs `voiceWebhookUrl` and `phone.attach(hub)`). */
  readonly callbacks?: CallbackConfig | undefined
  /**
   * Treat the SMS and voice identities of one number as the same person (default true), so a
   * voicemail joins the thread of that number's SMS. Caller id and SMS sender can be spoofed;
   * set false if that matters more than one thread per number.
   */
  readonly linkSmsAndVoice?: boolean | undefined
  /** Refuse texts longer than this many SMS segments (cost guard); default none. */
  readonly maxSegments?: number | undefined
  /** REST request timeout in milliseconds (default 15 000). */
  readonly requestTimeoutMs?: number | undefined
  /** Send REST requests here instead of https://api.twilio.com (tests, egress proxies). */
  readonly apiBaseUrl?: string | undefined
  /** How far back a retried send looks for its own earlier, unconfirmed attempt (default 24 h). */
  readonly reconcileWindowMs?: number | undefined
  readonly voice?: VoiceConfig | undefined
  /** Channel names; defaults "sms" and "voice". */
  readonly channels?: { readonly sms?: string | undefined; readonly voice?: string | undefined } | undefined
}

/** Fails fast on configuration the adapter cannot work with. */
export const checkConfig = (config: PhoneAdapterConfig): void => {
  const fail = (what: string) => {
    throw new Error(`[dialogi/phone] invalid config: ${what}`)
  }
  if (!/^AC[0-9a-fA-F]{32}$/.test(config.accountSid)) fail("accountSid must look like AC + 32 hex digits")
  if (config.authToken.length === 0) fail("authToken is empty")
  for (const [name, url] of [
    ["smsWebhookUrl", config.smsWebhookUrl],
    ["voiceWebhookUrl", config.voiceWebhookUrl]
  ] as const) {
    if (url === undefined) continue
    let parsed: URL | undefined
    try {
      parsed = new URL(url)
    } catch {
      fail(`${name} is not a URL`)
    }
    if (parsed && (parsed.search !== "" || parsed.hash !== "")) fail(`${name} must not carry a query`)
  }
  if (config.messagingServiceSid !== undefined && !/^MG[0-9a-fA-F]{32}$/.test(config.messagingServiceSid))
    fail("messagingServiceSid must look like MG + 32 hex digits")
  if (config.messagingServiceSid === undefined && config.from === undefined)
    fail("set messagingServiceSid or from (Twilio needs one of them to send)")
  if (config.callbacks !== undefined) {
    if (config.voiceWebhookUrl === undefined)
      fail("callbacks need voiceWebhookUrl (Twilio fetches the call's TwiML there)")
    if ((config.callbacks.from ?? config.from) === undefined)
      fail("callbacks need a caller id: set callbacks.from or from (a Messaging Service cannot call)")
    const ring = config.callbacks.ringSeconds
    if (ring !== undefined && !(Number.isInteger(ring) && ring >= 5 && ring <= 600))
      fail("callbacks.ringSeconds must be an integer from 5 to 600")
  }
}
