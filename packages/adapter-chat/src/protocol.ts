import { Schema } from "effect"

/**
 * The version of the chat wire protocol. A client says which version it speaks in `hello`;
 * the server refuses versions it does not know with an `unsupported_version` error frame, so
 * an old cached widget fails visibly instead of half-working.
 */
export const protocolVersion = 1

/** A client-generated message id: the widget makes it once and resends it until acked. */
export const ClientMessageId = Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9_-]{8,64}$/))

/** The host's statement of who the visitor is, signed with the adapter secret (see `signIdentity`). */
export const HostIdentity = Schema.Struct({
  userId: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(256)),
  email: Schema.optional(Schema.String.pipe(Schema.minLength(3), Schema.maxLength(320))),
  name: Schema.optional(Schema.String.pipe(Schema.maxLength(256))),
  /** Hex HMAC-SHA256; absent = an unsigned claim, which never links to an existing contact. */
  signature: Schema.optional(Schema.String.pipe(Schema.maxLength(256)))
})
/** @see HostIdentity */
export type HostIdentity = typeof HostIdentity.Type

/** A conversation id with the server's proof that it belongs to this visitor. */
export const ConversationBinding = Schema.Struct({
  id: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(128)),
  token: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(128))
})
/** @see ConversationBinding */
export type ConversationBinding = typeof ConversationBinding.Type

const Cursor = Schema.Number.pipe(Schema.int(), Schema.nonNegative())

/** Frames a widget sends. */
export const ClientFrame = Schema.Union(
  Schema.Struct({
    type: Schema.Literal("hello"),
    v: Schema.Number,
    /** The anonymous visitor token the server issued earlier. */
    visitor: Schema.optional(Schema.String.pipe(Schema.maxLength(256))),
    identity: Schema.optional(HostIdentity),
    conversation: Schema.optional(ConversationBinding),
    /** The `seq` of the last message the widget has; the server replays everything after it. */
    cursor: Cursor
  }),
  Schema.Struct({
    type: Schema.Literal("message"),
    id: ClientMessageId,
    text: Schema.String.pipe(Schema.maxLength(16_000))
  }),
  Schema.Struct({ type: Schema.Literal("typing"), on: Schema.Boolean }),
  /** Read watermark: the visitor has seen every message up to `seq`. */
  Schema.Struct({ type: Schema.Literal("read"), seq: Cursor }),
  Schema.Struct({ type: Schema.Literal("ping") })
)
/** @see ClientFrame */
export type ClientFrame = typeof ClientFrame.Type

/** Who wrote a message, as the widget shows it. */
export type ChatAuthor = "visitor" | "agent" | "bot" | "system"

/**
 * Error codes of the `error` frame. Only `rate_limited` and `unavailable` may be retried by
 * resending the same frame; `vetoed` means a hook of the host refused the message (recorded, never
 * stored), so resending it is pointless.
 */
export type ChatErrorCode =
  | "bad_frame"
  | "unsupported_version"
  | "not_ready"
  | "bad_visitor"
  | "bad_identity"
  | "bad_conversation"
  | "rate_limited"
  | "too_long"
  | "blocked"
  | "invalid"
  | "vetoed"
  | "unavailable"

/** Frames the server sends. */
export type ServerFrame =
  | {
      readonly type: "welcome"
      readonly v: number
      readonly visitor: string
      readonly verified: boolean
      readonly conversation?: ConversationBinding
      readonly agentsOnline: boolean
    }
  | {
      readonly type: "message"
      readonly seq: number
      readonly id: string
      readonly clientId?: string
      readonly author: ChatAuthor
      readonly channel: string
      readonly text: string
      readonly at: number
    }
  | {
      readonly type: "ack"
      readonly id: string
      readonly messageId: string
      readonly conversationId: string
      readonly duplicate: boolean
    }
  | { readonly type: "conversation"; readonly id: string; readonly token: string }
  | { readonly type: "typing"; readonly on: boolean }
  | { readonly type: "presence"; readonly online: boolean }
  /** When a reply is due (epoch ms), or null when none is promised; sent when it may change. */
  | { readonly type: "expected_reply"; readonly dueAt: number | null }
  | { readonly type: "pong" }
  | {
      readonly type: "error"
      readonly code: ChatErrorCode
      readonly message: string
      /** The client message id the error is about, when it is about one. */
      readonly ref?: string
      readonly retryAfterMs?: number
    }
