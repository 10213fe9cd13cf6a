import { Schema } from "effect"
import { Priority } from "../domain/Conversation.js"
import { ContactId, ConversationId, MessageId } from "../domain/Ids.js"
import { HookStage } from "./HookErrors.js"

// Event bodies of blocking hooks, joined into the EventBody union. They hold no dates, so their
// stored encoding is themselves.

/** The hook events, as members of the EventBody union. */
export const hookEventBodies = [
  /**
   * A hook stopped a message. Ingest: the envelope's facts (channel, provider id, sender) are
   * kept here, with the contact when the sender is known; send: the conversation it was for.
   */
  Schema.TaggedStruct("hook.vetoed", {
    stage: HookStage,
    hook: Schema.String,
    reason: Schema.String,
    conversationId: Schema.optional(ConversationId),
    contactId: Schema.optional(ContactId),
    channel: Schema.optional(Schema.String),
    providerMessageId: Schema.optional(Schema.String),
    address: Schema.optional(Schema.String)
  }),
  /**
   * A hook failed. Ingest: the message was stored without that hook's change (`messageId`); send:
   * the reply was not stored or sent.
   */
  Schema.TaggedStruct("hook.failed", {
    stage: HookStage,
    hook: Schema.String,
    message: Schema.String,
    conversationId: Schema.optional(ConversationId),
    messageId: Schema.optional(MessageId)
  }),
  /** Hooks added tags to a conversation or changed its priority. */
  Schema.TaggedStruct("conversation.enriched", {
    conversationId: ConversationId,
    hooks: Schema.Array(Schema.String),
    addedTags: Schema.Array(Schema.String),
    priority: Schema.optional(Schema.Struct({ from: Priority, to: Priority }))
  })
] as const
