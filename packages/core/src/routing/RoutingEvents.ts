import { Schema } from "effect"
import { Assignee } from "../domain/Conversation.js"
import { ConversationId } from "../domain/Ids.js"
import { HandoffTarget, TranscriptEntry } from "./Handoff.js"

// Event bodies of routing, handoffs and callbacks, joined into the EventBody union. They hold
// no Date values (times are epoch milliseconds), so their stored encoding is themselves.

const about = { conversationId: ConversationId }

/** The routing, handoff and callback events, as members of the EventBody union. */
export const routingEventBodies = [
  Schema.TaggedStruct("routing.queued", { ...about, teamId: Schema.String }),
  Schema.TaggedStruct("routing.overflowed", { ...about, fromTeam: Schema.String, toTeam: Schema.String }),
  /**
   * An overflow was not made because the conversation had already waited in `toTeam` since it
   * was queued (an overflow loop configured before loops were refused): it stays in `fromTeam`.
   */
  Schema.TaggedStruct("routing.overflow_stopped", {
    ...about,
    fromTeam: Schema.String,
    toTeam: Schema.String,
    reason: Schema.String
  }),
  /** A customer reopened the conversation and its previous agent, available and with room, keeps it. */
  Schema.TaggedStruct("routing.returned", { ...about, participantId: Schema.String }),
  Schema.TaggedStruct("handoff.requested", {
    ...about,
    handoffId: Schema.String,
    from: Assignee,
    to: HandoffTarget,
    reason: Schema.String,
    note: Schema.optional(Schema.String),
    summary: Schema.Array(TranscriptEntry),
    requestedBy: Schema.optional(Schema.String),
    /** Epoch ms. */
    expiresAt: Schema.Number
  }),
  Schema.TaggedStruct("handoff.accepted", { ...about, handoffId: Schema.String, by: Schema.String }),
  Schema.TaggedStruct("handoff.declined", {
    ...about,
    handoffId: Schema.String,
    by: Schema.String,
    reason: Schema.optional(Schema.String)
  }),
  Schema.TaggedStruct("handoff.expired", { ...about, handoffId: Schema.String }),
  Schema.TaggedStruct("callback.scheduled", {
    ...about,
    callbackId: Schema.String,
    phone: Schema.String,
    /** Epoch ms. */
    windowFrom: Schema.Number,
    /** Epoch ms. */
    windowTo: Schema.Number,
    note: Schema.optional(Schema.String)
  }),
  Schema.TaggedStruct("callback.due", { ...about, callbackId: Schema.String }),
  Schema.TaggedStruct("callback.in_progress", { ...about, callbackId: Schema.String, by: Schema.String }),
  Schema.TaggedStruct("callback.completed", { ...about, callbackId: Schema.String }),
  Schema.TaggedStruct("callback.missed", {
    ...about,
    callbackId: Schema.String,
    reason: Schema.String,
    /** Why no new window could be offered (every channel's refusal); absent when one was. */
    offerRefused: Schema.optional(Schema.String)
  }),
  Schema.TaggedStruct("callback.rebook_offered", {
    ...about,
    callbackId: Schema.String,
    messageId: Schema.String,
    channel: Schema.String
  })
] as const
