import { Schema } from "effect"
import { ChannelName, ConversationId, MessageId } from "./Ids.js"

/** A reference to a stored file; the bytes live in an attachment store, never in the event log. */
export const AttachmentRef = Schema.Struct({
  ref: Schema.String.pipe(Schema.minLength(1)),
  filename: Schema.optional(Schema.String),
  contentType: Schema.String,
  size: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.nonNegative()))
})
/** @see AttachmentRef */
export type AttachmentRef = typeof AttachmentRef.Type

/** The pieces a message is made of; a message may carry several. */
export const MessagePart = Schema.Union(
  Schema.TaggedStruct("text", { text: Schema.String }),
  /** Html that an adapter already sanitized for display; the original stays an attachment. */
  Schema.TaggedStruct("html", { html: Schema.String }),
  Schema.TaggedStruct("attachment", { attachment: AttachmentRef }),
  Schema.TaggedStruct("voice", {
    recording: AttachmentRef,
    durationSeconds: Schema.optional(Schema.Number.pipe(Schema.nonNegative())),
    transcript: Schema.optional(Schema.String)
  }),
  Schema.TaggedStruct("call", {
    event: Schema.Literal("ringing", "answered", "missed", "completed", "voicemail", "callback_requested"),
    durationSeconds: Schema.optional(Schema.Number.pipe(Schema.nonNegative())),
    from: Schema.optional(Schema.String),
    to: Schema.optional(Schema.String)
  })
)
/** @see MessagePart */
export type MessagePart = typeof MessagePart.Type

/** Who wrote a message. */
export const Author = Schema.Union(
  Schema.TaggedStruct("contact", {}),
  Schema.TaggedStruct("agent", { id: Schema.String.pipe(Schema.minLength(1)) }),
  Schema.TaggedStruct("bot", { id: Schema.String.pipe(Schema.minLength(1)) }),
  Schema.TaggedStruct("system", {})
)
/** @see Author */
export type Author = typeof Author.Type

/**
 * Delivery state of a message. Inbound messages are `received`. Outbound ones only move
 * forward: queued -> sent -> delivered -> read; `failed` carries the provider's reason.
 */
export const DeliveryStatus = Schema.Union(
  Schema.TaggedStruct("received", {}),
  Schema.TaggedStruct("queued", {}),
  Schema.TaggedStruct("sent", {}),
  Schema.TaggedStruct("delivered", {}),
  Schema.TaggedStruct("read", {}),
  Schema.TaggedStruct("failed", {
    reason: Schema.String,
    code: Schema.optional(Schema.String),
    retryable: Schema.Boolean
  })
)
/** @see DeliveryStatus */
export type DeliveryStatus = typeof DeliveryStatus.Type

const rank: Record<DeliveryStatus["_tag"], number> = {
  received: 0,
  queued: 1,
  sent: 2,
  failed: 3,
  delivered: 4,
  read: 5
}

/**
 * Whether `next` may replace `current`. Status callbacks arrive out of order (a `sent` after
 * a `delivered` is common with Twilio and Meta), so a status never moves backwards; a
 * `failed` after `delivered` is ignored because the customer already has the message.
 */
export const canAdvance = (current: DeliveryStatus, next: DeliveryStatus): boolean =>
  current._tag !== next._tag && rank[next._tag] > rank[current._tag]

/** Public messages reach the customer; internal notes are only seen by the team. */
export const Visibility = Schema.Literal("public", "internal")
/** @see Visibility */
export type Visibility = typeof Visibility.Type

/** One message in a conversation, on one channel. */
export class Message extends Schema.Class<Message>("@dialogi/Message")({
  id: MessageId,
  conversationId: ConversationId,
  direction: Schema.Literal("inbound", "outbound"),
  author: Author,
  /** The channel it arrived or left on; internal notes use the channel `note`. */
  channel: ChannelName,
  parts: Schema.Array(MessagePart),
  visibility: Visibility,
  /** The provider's id: the dedupe key, unique per channel. */
  providerMessageId: Schema.optional(Schema.String),
  status: DeliveryStatus,
  createdAt: Schema.DateFromNumber,
  /** When the provider says it was sent (inbound), or when we wrote it (outbound). */
  sentAt: Schema.DateFromNumber
}) {}
