import { Schema } from "effect"
import { Assignee } from "../domain/Conversation.js"
import { ConversationId } from "../domain/Ids.js"
import { RoutingId } from "./Participant.js"

/** Who a handoff goes to: one agent, any member of a team, or a bot. */
export const HandoffTarget = Schema.Union(
  Schema.TaggedStruct("agent", { id: RoutingId }),
  Schema.TaggedStruct("team", { id: RoutingId }),
  Schema.TaggedStruct("bot", { id: RoutingId })
)
/** @see HandoffTarget */
export type HandoffTarget = typeof HandoffTarget.Type

/** requested -> accepted | declined | expired; only `requested` moves. */
export const HandoffState = Schema.Literal("requested", "accepted", "declined", "expired")
/** @see HandoffState */
export type HandoffState = typeof HandoffState.Type

/**
 * One message of the transcript summary that travels with a handoff, flattened to text so the
 * receiver reads the story without opening the thread. `at` is epoch milliseconds.
 */
export const TranscriptEntry = Schema.Struct({
  messageId: Schema.String,
  channel: Schema.String,
  direction: Schema.Literal("inbound", "outbound"),
  /** `contact`, `agent:<id>`, `bot:<id>` or `system`. */
  author: Schema.String,
  visibility: Schema.Literal("public", "internal"),
  text: Schema.String,
  at: Schema.Number
})
/** @see TranscriptEntry */
export type TranscriptEntry = typeof TranscriptEntry.Type

/**
 * A request to pass a conversation to someone else, with why, a note and the recent
 * transcript, so the receiver never has to ask the customer to start over. The conversation
 * keeps its owner until someone accepts; after `expiresAt` it is routed again.
 */
export class Handoff extends Schema.Class<Handoff>("@dialogi/Handoff")({
  id: Schema.String.pipe(Schema.minLength(1)),
  conversationId: ConversationId,
  /** The owner when it was requested. */
  from: Assignee,
  to: HandoffTarget,
  reason: Schema.String,
  note: Schema.optional(Schema.String),
  /** The last messages across every channel, oldest first. */
  summary: Schema.Array(TranscriptEntry),
  state: HandoffState,
  /** The participant who asked (a bot giving up, an agent escalating), when known. */
  requestedBy: Schema.optional(Schema.String),
  requestedAt: Schema.DateFromNumber,
  expiresAt: Schema.DateFromNumber,
  decidedAt: Schema.optional(Schema.DateFromNumber),
  /** Who accepted or declined. */
  decidedBy: Schema.optional(Schema.String),
  declineReason: Schema.optional(Schema.String)
}) {}

/** What `hub.handoff` takes. */
export const HandoffRequest = Schema.Struct({
  to: HandoffTarget,
  reason: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(500)),
  note: Schema.optional(Schema.String.pipe(Schema.maxLength(10_000))),
  /** Who asks; recorded on the handoff. */
  by: Schema.optional(RoutingId),
  /** Acceptance window in ms; default the hub's `routing.handoffAcceptMs`. */
  acceptWithinMs: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.between(1, 7 * 86_400_000)))
})
/** @see HandoffRequest */
export type HandoffRequest = typeof HandoffRequest.Encoded
