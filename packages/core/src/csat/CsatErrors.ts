import { Schema } from "effect"

/** `hub.csat.answer` found no survey waiting for an answer on the conversation; nothing changed. */
export class NoPendingSurvey extends Schema.TaggedError<NoPendingSurvey>("@dialogi/NoPendingSurvey")(
  "NoPendingSurvey",
  { conversationId: Schema.String }
) {}
