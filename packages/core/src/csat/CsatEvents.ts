import { Schema } from "effect"
import { ConversationId, MessageId } from "../domain/Ids.js"
import { CsatScale } from "./CsatSurvey.js"

// Event bodies of CSAT surveys, joined into the EventBody union. They hold no dates, so their
// stored encoding is themselves.

/** The CSAT events, as members of the EventBody union. */
export const csatEventBodies = [
  /** A survey went out (queued on the normal send path) after the conversation was resolved. */
  Schema.TaggedStruct("csat.requested", {
    conversationId: ConversationId,
    surveyId: Schema.String,
    channel: Schema.String,
    scale: CsatScale,
    messageId: MessageId
  }),
  /** The customer answered, by message (`messageId`) or through `hub.csat.answer`. */
  Schema.TaggedStruct("csat.answered", {
    conversationId: ConversationId,
    surveyId: Schema.String,
    scale: CsatScale,
    rating: Schema.Number,
    satisfied: Schema.Boolean,
    comment: Schema.optional(Schema.String),
    messageId: Schema.optional(MessageId)
  }),
  /** The customer's next message on the survey's channel was not an answer: no longer waiting. */
  Schema.TaggedStruct("csat.skipped", {
    conversationId: ConversationId,
    surveyId: Schema.String
  })
] as const
