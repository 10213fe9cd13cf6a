import { Schema } from "effect"
import { ConversationId } from "../domain/Ids.js"
import { SlaPolicy, SlaTarget } from "./SlaPolicy.js"

// Event bodies of the SLA engine, joined into the EventBody union. Times are epoch
// milliseconds, so their stored encoding is themselves.

const timing = {
  conversationId: ConversationId,
  policyId: Schema.String,
  target: SlaTarget,
  /** When the target was (or is) due, epoch ms; absent when the calendar never opens. */
  dueAt: Schema.optional(Schema.Number),
  /** The promise, in business milliseconds. */
  targetMs: Schema.Number,
  /** Business milliseconds used when the event happened. */
  businessMs: Schema.Number
}

/** The SLA events, as members of the EventBody union. */
export const slaEventBodies = [
  /** A clock used its policy's `warnAt` share of the target. */
  Schema.TaggedStruct("sla.warning", timing),
  /** A clock passed its due time. Fires once per cycle. */
  Schema.TaggedStruct("sla.breached", timing),
  /** A clock stopped in time (a reply, a resolution); `businessMs` is the time it took. */
  Schema.TaggedStruct("sla.met", timing),
  /** A policy version not seen before came into use; clocks started from now on follow it. */
  Schema.TaggedStruct("sla.policy_changed", {
    policyId: Schema.String,
    version: Schema.String,
    policy: SlaPolicy
  })
] as const
