import { Schema } from "effect"

/** A routing entity does not exist; nothing was changed. */
export class RoutingNotFound extends Schema.TaggedError<RoutingNotFound>("@dialogi/RoutingNotFound")(
  "RoutingNotFound",
  { entity: Schema.Literal("team", "participant", "handoff", "callback"), id: Schema.String }
) {
  override get message(): string {
    return `[dialogi/routing] no ${this.entity} ${this.id}`
  }
}

/**
 * A team's overflow would lead, through the overflow of the teams it names, back to itself:
 * a waiting conversation would go round for ever. `teams` is the loop, first team repeated last.
 */
export class OverflowLoop extends Schema.TaggedError<OverflowLoop>("@dialogi/OverflowLoop")("OverflowLoop", {
  teams: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `[dialogi/routing] overflow loop: ${this.teams.join(" -> ")}`
  }
}

/**
 * The handoff was already accepted, declined or expired: of two agents accepting at once,
 * the second gets this.
 */
export class HandoffNotPending extends Schema.TaggedError<HandoffNotPending>("@dialogi/HandoffNotPending")(
  "HandoffNotPending",
  { handoffId: Schema.String, state: Schema.String }
) {
  override get message(): string {
    return `[dialogi/routing] handoff ${this.handoffId} is ${this.state}, not requested`
  }
}

/** The conversation already has a handoff waiting for acceptance. */
export class HandoffAlreadyPending extends Schema.TaggedError<HandoffAlreadyPending>(
  "@dialogi/HandoffAlreadyPending"
)("HandoffAlreadyPending", { conversationId: Schema.String, handoffId: Schema.String }) {}

/** The participant may not do this (not the handoff's target, not a member of its team). */
export class NotPermitted extends Schema.TaggedError<NotPermitted>("@dialogi/NotPermitted")("NotPermitted", {
  participantId: Schema.String,
  message: Schema.String
}) {}

/** Taking this conversation would put the participant above their capacity. */
export class AtCapacity extends Schema.TaggedError<AtCapacity>("@dialogi/AtCapacity")("AtCapacity", {
  participantId: Schema.String,
  capacity: Schema.Number,
  load: Schema.Number
}) {}

/** A callback cannot make this move from its current state. */
export class CallbackStateConflict extends Schema.TaggedError<CallbackStateConflict>(
  "@dialogi/CallbackStateConflict"
)("CallbackStateConflict", { callbackId: Schema.String, from: Schema.String, to: Schema.String }) {
  override get message(): string {
    return `[dialogi/routing] callback ${this.callbackId} cannot go from ${this.from} to ${this.to}`
  }
}
