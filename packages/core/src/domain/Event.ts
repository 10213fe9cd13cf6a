import { Schema } from "effect"
import { csatEventBodies } from "../csat/CsatEvents.js"
import { hookEventBodies } from "../hooks/HookEvents.js"
import { routingEventBodies } from "../routing/RoutingEvents.js"
import { slaEventBodies } from "../sla/SlaEvents.js"
import { Contact } from "./Contact.js"
import { Assignee, Conversation, ConversationStatus } from "./Conversation.js"
import { ChannelName, ContactId, ConversationId, EventSeq, MergeId, MessageId } from "./Ids.js"
import { DeliveryStatus, Message } from "./Message.js"

const ref = {
  conversationId: Schema.optional(ConversationId),
  contactId: Schema.optional(ContactId)
}

/**
 * What happened, as data. Every change the hub makes appends one or more of these in the same
 * transaction as the change itself, so the log is exactly the history of the store.
 */
export const EventBody = Schema.Union(
  Schema.TaggedStruct("contact.created", { contactId: ContactId, contact: Contact }),
  Schema.TaggedStruct("contact.linked", {
    contactId: ContactId,
    channel: ChannelName,
    address: Schema.String,
    verified: Schema.Boolean
  }),
  Schema.TaggedStruct("contact.merge_suggested", {
    contactId: ContactId,
    candidateId: ContactId,
    channel: ChannelName,
    address: Schema.String,
    reason: Schema.String
  }),
  Schema.TaggedStruct("contact.merged", {
    mergeId: MergeId,
    contactId: ContactId,
    absorbedId: ContactId,
    reason: Schema.String
  }),
  Schema.TaggedStruct("contact.unmerged", { mergeId: MergeId, contactId: ContactId, restoredId: ContactId }),
  Schema.TaggedStruct("conversation.opened", { conversationId: ConversationId, conversation: Conversation }),
  Schema.TaggedStruct("conversation.status_changed", {
    conversationId: ConversationId,
    from: ConversationStatus,
    to: ConversationStatus
  }),
  Schema.TaggedStruct("conversation.resolved", { conversationId: ConversationId }),
  Schema.TaggedStruct("conversation.assigned", {
    conversationId: ConversationId,
    from: Assignee,
    to: Assignee
  }),
  Schema.TaggedStruct("message.received", { conversationId: ConversationId, message: Message }),
  Schema.TaggedStruct("message.queued", { conversationId: ConversationId, message: Message }),
  Schema.TaggedStruct("message.note_added", { conversationId: ConversationId, message: Message }),
  Schema.TaggedStruct("message.sent", {
    conversationId: ConversationId,
    messageId: MessageId,
    providerMessageId: Schema.String
  }),
  Schema.TaggedStruct("message.status", {
    conversationId: ConversationId,
    messageId: MessageId,
    status: DeliveryStatus
  }),
  ...routingEventBodies,
  ...slaEventBodies,
  ...hookEventBodies,
  ...csatEventBodies
)
/** @see EventBody */
export type EventBody = typeof EventBody.Type
/** The `_tag` of every event kind. */
export type EventType = EventBody["_tag"]

/** An event as stored: its body, its place in the global log and when it was appended. */
export class DialogiEvent extends Schema.Class<DialogiEvent>("@dialogi/Event")({
  seq: EventSeq,
  at: Schema.DateFromNumber,
  body: EventBody,
  ...ref
}) {}

/** The conversation an event belongs to, where it belongs to one. */
export const conversationOf = (body: EventBody): ConversationId | undefined =>
  "conversationId" in body ? body.conversationId : undefined

/** The contact an event belongs to, where it names one directly. */
export const contactOf = (body: EventBody): ContactId | undefined =>
  "contactId" in body
    ? body.contactId
    : body._tag === "conversation.opened"
      ? body.conversation.contactId
      : undefined
