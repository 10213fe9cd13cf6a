import { Schema } from "effect"
import { ChannelName, ContactId, ConversationId } from "./Ids.js"

/** Where a conversation stands; `resolved` conversations reopen when the customer writes again. */
export const ConversationStatus = Schema.Literal("open", "waiting_on_customer", "snoozed", "resolved")
/** @see ConversationStatus */
export type ConversationStatus = typeof ConversationStatus.Type

/** Who owns a conversation now. */
export const Assignee = Schema.Union(
  Schema.TaggedStruct("none", {}),
  Schema.TaggedStruct("agent", { id: Schema.String.pipe(Schema.minLength(1)) }),
  Schema.TaggedStruct("team", { id: Schema.String.pipe(Schema.minLength(1)) }),
  Schema.TaggedStruct("bot", { id: Schema.String.pipe(Schema.minLength(1)) })
)
/** @see Assignee */
export type Assignee = typeof Assignee.Type

/** Priority, highest first when sorting queues. */
export const Priority = Schema.Literal("urgent", "high", "normal", "low")
/** @see Priority */
export type Priority = typeof Priority.Type

/** A reference to the same case in another system (a CRM ticket id, say). */
export const ExternalRef = Schema.Struct({
  system: Schema.String.pipe(Schema.minLength(1)),
  id: Schema.String.pipe(Schema.minLength(1))
})
/** @see ExternalRef */
export type ExternalRef = typeof ExternalRef.Type

/** One thread with one contact, across every channel they use. */
export class Conversation extends Schema.Class<Conversation>("@dialogi/Conversation")({
  id: ConversationId,
  contactId: ContactId,
  status: ConversationStatus,
  assignee: Assignee,
  priority: Priority,
  tags: Schema.Array(Schema.String),
  externalRefs: Schema.Array(ExternalRef),
  /** The channel of the customer's most recent message: the default channel for a reply. */
  lastInboundChannel: Schema.optional(ChannelName),
  lastInboundAt: Schema.optional(Schema.DateFromNumber),
  lastMessageAt: Schema.DateFromNumber,
  createdAt: Schema.DateFromNumber,
  updatedAt: Schema.DateFromNumber
}) {}
