import { Redacted } from "effect"
import { defaultMaxTextLength } from "./capabilities.js"
import type { ChatExpectedReply } from "./expectedReply.js"
import type { ChatFanOut } from "./fanOut.js"
import type { ChatHistory, ChatHistoryEntry } from "./history.js"
import { type ChatOfflineFallback, isOfflineCopy } from "./offlineEmail.js"
import type { RateLimit } from "./rateLimit.js"

/** Options of `createChatAdapter`. */
export interface ChatAdapterConfig {
  /**
   * Signs visitor tokens and conversation bindings, verifies host-signed identities
   * (`signIdentity`) and signed server-to-server posts. Keep it on the server.
   */
  readonly secret: string | Redacted.Redacted<string>
  /**
   * Reads a conversation's public messages after an event cursor; this is how offline replies
   * reach a visitor and how a reconnecting widget catches up. Wire it to the hub with
   * `hubHistory(hub)`.
   */
  readonly history: ChatHistory
  /**
   * When the visitor can expect a reply (the SLA's running response clock); the widget shows
   * it. Wire it to the hub with `hubExpectedReply(hub)`; leave it out to show no time.
   */
  readonly expectedReply?: ChatExpectedReply | undefined
  /**
   * Follow the hub's event log so that a message written on another instance (an agent reply
   * whose send job another instance claimed) reaches the visitor's sockets here live, and a
   * visitor's own message comes back to their tabs from the event instead of a history read.
   * Wire it with `hubFanOut(hub)`; needed with several instances on one database, and on one
   * it saves a query per visitor message. `history` must then read the same log (`hubHistory`).
   */
  readonly fanOut?: ChatFanOut | undefined
  /**
   * What to do with an agent reply that no socket took: `hubOfflineEmail(hub, { store })`
   * emails it in the same thread, if it is still undelivered after a while, when the visitor's
   * email was signed by the host. Without it the reply is only kept for their next visit.
   */
  readonly offline?: ChatOfflineFallback | undefined
  /** The channel name; default `chat`. */
  readonly channel?: string | undefined
  /** The WebSocket path on the http server; default `/chat`. */
  readonly path?: string | undefined
  /** Page origins allowed to connect (`https://example.com`); default: any. */
  readonly allowedOrigins?: ReadonlyArray<string> | undefined
  /** Largest frame accepted, in bytes; ws's own default is 100 MiB. Default 64 KiB. */
  readonly maxPayloadBytes?: number | undefined
  /** Longest message text, in characters; default 4,000. */
  readonly maxTextLength?: number | undefined
  /** Messages a connection may send; default a burst of 10, then 1 per second. */
  readonly messageRate?: RateLimit | undefined
  /** Frames of any kind a connection may send; default a burst of 60, then 20 per second. */
  readonly frameRate?: RateLimit | undefined
  /** Interval of WebSocket pings; a socket that missed one pong is dropped. Default 30 s. */
  readonly heartbeatMs?: number | undefined
  /**
   * Bytes queued on a socket before it is dropped as too slow. Dropping loses nothing: the
   * widget reconnects and resumes from its cursor. Default 1 MiB.
   */
  readonly maxBufferedBytes?: number | undefined
  /** Called when a visitor starts or stops typing (never stored). */
  readonly onTyping?:
    | ((event: {
        readonly address: string
        readonly conversationId: string | undefined
        readonly on: boolean
      }) => void)
    | undefined
}

/** The configuration with defaults filled in. */
export interface ResolvedChatConfig {
  readonly secret: string
  readonly history: ChatHistory
  /** Whether a socket shows an entry; `history` already leaves out the ones it does not. */
  readonly shows: (entry: ChatHistoryEntry) => boolean
  readonly expectedReply: ChatExpectedReply | undefined
  readonly fanOut: ChatFanOut | undefined
  readonly offline: ChatOfflineFallback | undefined
  readonly channel: string
  readonly path: string
  readonly allowedOrigins: ReadonlyArray<string> | undefined
  readonly maxPayloadBytes: number
  readonly maxTextLength: number
  readonly messageRate: RateLimit
  readonly frameRate: RateLimit
  readonly heartbeatMs: number
  readonly maxBufferedBytes: number
  readonly onTyping: ChatAdapterConfig["onTyping"]
}

/** Fills in defaults and checks the values that would otherwise fail late. */
export const resolveChatConfig = (config: ChatAdapterConfig): ResolvedChatConfig => {
  const secret = Redacted.isRedacted(config.secret) ? Redacted.value(config.secret) : config.secret
  if (typeof secret !== "string" || secret.length < 16)
    throw new Error("[dialogi/chat] secret must be a string of at least 16 characters")
  if (typeof config.history !== "function")
    throw new Error("[dialogi/chat] history is required: pass hubHistory(hub) or your own reader")
  if (config.expectedReply !== undefined && typeof config.expectedReply !== "function")
    throw new Error("[dialogi/chat] expectedReply must be a function: pass hubExpectedReply(hub)")
  if (
    config.fanOut !== undefined &&
    (typeof config.fanOut.head !== "function" || typeof config.fanOut.subscribe !== "function")
  )
    throw new Error("[dialogi/chat] fanOut needs head and subscribe: pass hubFanOut(hub)")
  if (
    config.offline !== undefined &&
    (typeof config.offline.schedule !== "function" || typeof config.offline.start !== "function")
  )
    throw new Error("[dialogi/chat] offline needs schedule and start: pass hubOfflineEmail(hub, { store })")
  const channel = config.channel ?? "chat"
  const history = config.history
  return {
    secret,
    // Offline copies and other automatic messages on other channels repeat a chat reply or
    // only concern their channel. Every read skips them, so a socket whose cursor is still
    // before one never shows it later either.
    history: async (query) => (await history(query)).filter((entry) => !isOfflineCopy(entry, channel)),
    shows: (entry) => !isOfflineCopy(entry, channel),
    expectedReply: config.expectedReply,
    fanOut: config.fanOut,
    offline: config.offline,
    channel,
    path: config.path ?? "/chat",
    allowedOrigins: config.allowedOrigins,
    maxPayloadBytes: config.maxPayloadBytes ?? 64 * 1024,
    maxTextLength: config.maxTextLength ?? defaultMaxTextLength,
    messageRate: config.messageRate ?? { burst: 10, perSecond: 1 },
    frameRate: config.frameRate ?? { burst: 60, perSecond: 20 },
    heartbeatMs: config.heartbeatMs ?? 30_000,
    maxBufferedBytes: config.maxBufferedBytes ?? 1024 * 1024,
    onTyping: config.onTyping
  }
}
