import { Schema } from "effect"
import type { ChannelName, ContactId, ConversationId, MessageId } from "../domain/Ids.js"

/** How the customer answers: a 1-5 score, or thumbs up / down. */
export const CsatScale = Schema.Literal("five", "thumbs")
/** @see CsatScale */
export type CsatScale = typeof CsatScale.Type

/** Where a survey stands: waiting for the customer, answered, or passed over by them. */
export const CsatState = Schema.Literal("pending", "answered", "skipped")
/** @see CsatState */
export type CsatState = typeof CsatState.Type

/**
 * One survey sent after a conversation was resolved. `rating` is 1-5 on the five scale and
 * 1 (up) or 0 (down) on thumbs; `satisfied` is a 4 or 5, or a thumbs up.
 */
export interface CsatSurvey {
  readonly id: string
  readonly conversationId: ConversationId
  readonly contactId: ContactId
  /** The channel the survey went out on; answers are read on it. */
  readonly channel: ChannelName
  readonly scale: CsatScale
  /** The survey's outbound message. */
  readonly messageId: MessageId
  /** The team and agent the conversation was with when it was resolved (report groups). */
  readonly team: string | undefined
  readonly agent: string | undefined
  readonly requestedAt: Date
  readonly state: CsatState
  readonly rating: number | undefined
  readonly satisfied: boolean | undefined
  readonly comment: string | undefined
  readonly answeredAt: Date | undefined
  /** The customer's message that answered or skipped it (absent for answers given through the API). */
  readonly answerMessageId: MessageId | undefined
}

/** Whether a rating on a scale counts as satisfied. */
export const isSatisfied = (scale: CsatScale, rating: number): boolean =>
  scale === "five" ? rating >= 4 : rating === 1

/**
 * An answer given through `hub.csat.answer`: a 1-5 score, or on thumbs "up" / "down" (or 1 / 0),
 * with an optional comment.
 */
export const CsatAnswerInput = Schema.Struct({
  rating: Schema.Union(Schema.Number.pipe(Schema.int(), Schema.between(0, 5)), Schema.Literal("up", "down")),
  comment: Schema.optional(Schema.String.pipe(Schema.maxLength(2000)))
})
/** @see CsatAnswerInput */
export type CsatAnswerInput = typeof CsatAnswerInput.Encoded
