import { Schema } from "effect"
import { ChannelName } from "../domain/Ids.js"
import { MessagePart } from "../domain/Message.js"

/**
 * A message the business already sent to a contact outside dialogi (the provider's own inbox,
 * another app of the same account), reported by an adapter so that the thread shows it. It is
 * stored as a sent outbound message and never queued for sending.
 */
export const OutboundRecord = Schema.Struct({
  channel: ChannelName,
  /** The contact's address on this channel (the recipient). */
  to: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(512)),
  /** The provider's id of the message: the dedupe key, shared with inbound messages. */
  providerMessageId: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(998)),
  parts: Schema.Array(MessagePart).pipe(Schema.minItems(1)),
  /** Who wrote it, as far as the provider tells; a person in a provider inbox is an agent. */
  author: Schema.Union(
    Schema.TaggedStruct("agent", { id: Schema.String.pipe(Schema.minLength(1)) }),
    Schema.TaggedStruct("bot", { id: Schema.String.pipe(Schema.minLength(1)) }),
    Schema.TaggedStruct("system", {})
  ),
  /** When the provider says it was sent. */
  sentAt: Schema.DateFromNumber
})
/** @see OutboundRecord */
export type OutboundRecordInput = typeof OutboundRecord.Encoded
