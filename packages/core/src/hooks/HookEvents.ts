import { Schema } from "effect"
import { Priority } from "../domain/Conversation.js"
import { ContactId, ConversationId, MessageId } from "../domain/Ids.js"

// Event bodies of blocking hooks, joined into the EventBody union. They hold no dates, so their
// stored encoding is themselves. `conversationId` is never optional in a body: consumers narrow
// on `"conversationId" in body`, so ingest vetoes (no conversation) are their own kind.

/** The hook events, as members of the EventBody union. */
export const hookEventBodies = [
  /**
   * An ingest hook stopped an inbound message; nothing was stored as a message. The envelope's
   * facts are kept (not its content: a veto is often about the content), with the sender's
   * contact when they are already known.
   */
  Schema.TaggedStruct("hook.ingest_vetoed", {
    hook: Schema.String,
    reason: Schema.String,
    channel: Schema.String,
    providerMessageId: Schema.String,
    address: Schema.String,
    senderContactId: Schema.optional(ContactId)
  }),
  /** An ingest hook failed; the message was stored without that hook's change. */
  Schema.TaggedStruct("hook.ingest_failed", {
    conversationId: ConversationId,
    messageId: MessageId,
    hook: Schema.String,
    message: Schema.String
  }),
  /** A send hook vetoed a reply: nothing was stored as a reply or sent; a system note says why. */
  Schema.TaggedStruct("hook.send_vetoed", {
    conversationId: ConversationId,
    hook: Schema.String,
    reason: Schema.String,
    channel: Schema.optional(Schema.String)
  }),
  /** A send hook failed: the reply failed closed (nothing stored as a reply or sent). */
  Schema.TaggedStruct("hook.send_failed", {
    conversationId: ConversationId,
    hook: Schema.String,
    message: Schema.String
  }),
  /** Hooks added tags to a conversation or changed its priority. */
  Schema.TaggedStruct("conversation.enriched", {
    conversationId: ConversationId,
    hooks: Schema.Array(Schema.String),
    addedTags: Schema.Array(Schema.String),
    priority: Schema.optional(Schema.Struct({ from: Priority, to: Priority }))
  })
] as const
