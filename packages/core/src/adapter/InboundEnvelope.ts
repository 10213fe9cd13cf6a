import { Schema } from "effect"
import { ChannelName, ConversationId } from "../domain/Ids.js"
import { DeliveryStatus, MessagePart } from "../domain/Message.js"

/** An identity the sender claims on another channel (a chat visitor typing their email). */
export const IdentityClaim = Schema.Struct({
  channel: ChannelName,
  address: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(512)),
  /** True only when the host or provider proved it (a signed user id, a verified login). */
  verified: Schema.Boolean
})
/** @see IdentityClaim */
export type IdentityClaim = typeof IdentityClaim.Type

/**
 * Hints an adapter found for joining an existing thread. They override the default "the
 * contact's open conversation" rule, but only within the same contact: headers are
 * attacker-controlled, so a hint never moves a message into someone else's conversation.
 */
export const ThreadingHint = Schema.Struct({
  /** A conversation id the adapter verified (for example from an HMAC-signed reply token). */
  conversationId: Schema.optional(ConversationId),
  /** Provider message ids this message replies to (email In-Reply-To/References). */
  inReplyTo: Schema.optional(Schema.Array(Schema.String))
})
/** @see ThreadingHint */
export type ThreadingHint = typeof ThreadingHint.Type

/** What a channel adapter hands the hub for one inbound message, after verifying it. */
export const InboundEnvelope = Schema.Struct({
  channel: ChannelName,
  /** The provider's id of this message: the permanent dedupe key on this channel. */
  providerMessageId: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(998)),
  from: Schema.Struct({
    address: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(512)),
    name: Schema.optional(Schema.String.pipe(Schema.maxLength(256))),
    verified: Schema.optionalWith(Schema.Boolean, { default: () => false })
  }),
  claims: Schema.optionalWith(Schema.Array(IdentityClaim), { default: () => [] }),
  parts: Schema.Array(MessagePart).pipe(Schema.minItems(1)),
  /** When the provider says the message was sent. */
  sentAt: Schema.DateFromNumber,
  threading: Schema.optional(ThreadingHint),
  /** Channel-specific facts kept with the message (headers, page id); never used for matching. */
  metadata: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.Unknown }), {
    default: () => ({})
  })
})
/** The decoded envelope. */
export type InboundEnvelope = typeof InboundEnvelope.Type
/** The envelope as an adapter writes it (plain JSON: dates as epoch milliseconds). */
export type InboundEnvelopeInput = typeof InboundEnvelope.Encoded

/** A provider's report about one of our outbound messages (delivered, read, failed). */
export const StatusUpdate = Schema.Struct({
  channel: ChannelName,
  providerMessageId: Schema.String.pipe(Schema.minLength(1)),
  status: DeliveryStatus,
  at: Schema.DateFromNumber
})
/** @see StatusUpdate */
export type StatusUpdate = typeof StatusUpdate.Type
/** @see StatusUpdate */
export type StatusUpdateInput = typeof StatusUpdate.Encoded
