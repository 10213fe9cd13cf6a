import { Schema } from "effect"
import { ConversationId } from "../domain/Ids.js"

/**
 * scheduled -> due (window opens) -> in_progress (an agent dials) -> completed, or missed (the
 * window closed first, or the call failed) -> rebook_offered (a new window was offered to the
 * customer on their last channel).
 */
export const CallbackState = Schema.Literal(
  "scheduled",
  "due",
  "in_progress",
  "completed",
  "missed",
  "rebook_offered"
)
/** @see CallbackState */
export type CallbackState = typeof CallbackState.Type

/** The moves a callback may make; anything else is refused. */
export const callbackTransitions: Readonly<Record<CallbackState, ReadonlyArray<CallbackState>>> = {
  scheduled: ["due", "missed"],
  due: ["in_progress", "missed"],
  in_progress: ["completed", "missed"],
  missed: ["rebook_offered"],
  completed: [],
  rebook_offered: []
}

/** A window the customer picked. */
export const CallbackWindow = Schema.Struct({
  from: Schema.DateFromNumber,
  to: Schema.DateFromNumber
})
/** @see CallbackWindow */
export type CallbackWindow = typeof CallbackWindow.Type

/** A promised phone call inside a window the customer chose. */
export class Callback extends Schema.Class<Callback>("@dialogi/Callback")({
  id: Schema.String.pipe(Schema.minLength(1)),
  conversationId: ConversationId,
  /** E.164. */
  phone: Schema.String,
  window: CallbackWindow,
  note: Schema.optional(Schema.String),
  state: CallbackState,
  /** Who took the call (in_progress and after). */
  by: Schema.optional(Schema.String),
  /** Why it was missed. */
  missedReason: Schema.optional(Schema.String),
  /** The message that offered a new window. */
  rebookMessageId: Schema.optional(Schema.String),
  scheduledAt: Schema.DateFromNumber,
  updatedAt: Schema.DateFromNumber
}) {}

/** An instant as a Date, epoch milliseconds or an ISO 8601 string. */
const Instant = Schema.Union(Schema.DateFromSelf, Schema.DateFromNumber, Schema.Date)

/** What `hub.callbacks.schedule` takes. */
export const CallbackRequest = Schema.Struct({
  window: Schema.Struct({ from: Instant, to: Instant }),
  /** The number to call; normalized to E.164 (national numbers need the hub's defaultRegion). */
  phone: Schema.String,
  note: Schema.optional(Schema.String.pipe(Schema.maxLength(10_000)))
})
/** @see CallbackRequest */
export type CallbackRequest = typeof CallbackRequest.Encoded
