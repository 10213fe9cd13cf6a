import { Schema } from "effect"
import { BusinessCalendar } from "../sla/BusinessCalendar.js"

/**
 * An id chosen by the host for a team or participant (`"support"`, `"agent-17"`, an SSO
 * subject): letters, digits and `_ . : @ -`, so it can sit in deadline and lock keys.
 */
export const RoutingId = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$/),
  Schema.annotations({ identifier: "RoutingId" })
)

/** Whether a participant takes new conversations now; only `online` ones are routed to. */
export const Availability = Schema.Literal("online", "away", "offline")
/** @see Availability */
export type Availability = typeof Availability.Type

/** Agents are people; bots are automated participants routed to like agents. */
export const ParticipantKind = Schema.Literal("agent", "bot")
/** @see ParticipantKind */
export type ParticipantKind = typeof ParticipantKind.Type

/** Admins see every conversation; agents see their teams' conversations and their own. */
export const ParticipantRole = Schema.Literal("agent", "admin")
/** @see ParticipantRole */
export type ParticipantRole = typeof ParticipantRole.Type

/** How a team picks an agent: a built-in strategy or the name of a host-supplied one. */
export const StrategyName = Schema.String.pipe(Schema.pattern(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/))

/** An agent or bot that conversations can be routed and handed off to. */
export class Participant extends Schema.Class<Participant>("@dialogi/Participant")({
  id: RoutingId,
  kind: ParticipantKind,
  name: Schema.optional(Schema.String),
  role: ParticipantRole,
  /** Teams this participant answers for; each must exist. */
  teams: Schema.Array(RoutingId),
  skills: Schema.Array(Schema.String.pipe(Schema.minLength(1))),
  /** Most open (not resolved) conversations assigned at once; routing never goes above it. */
  capacity: Schema.Number.pipe(Schema.int(), Schema.between(0, 100_000)),
  availability: Availability,
  /** Working hours: outside them the participant counts as unavailable, whatever `availability` says. */
  calendar: Schema.optional(BusinessCalendar),
  updatedAt: Schema.DateFromNumber
}) {}

/** Where a team's waiting conversations go when nobody picks them up in time. */
export const Overflow = Schema.Struct({
  /** Wait in this team's queue before moving, in ms. */
  afterMs: Schema.Number.pipe(Schema.int(), Schema.between(1, 30 * 86_400_000)),
  toTeam: RoutingId
})
/** @see Overflow */
export type Overflow = typeof Overflow.Type

/** A group of participants with one queue and one way of picking among them. */
export class Team extends Schema.Class<Team>("@dialogi/Team")({
  id: RoutingId,
  name: Schema.String,
  /** `round_robin` (default), `least_loaded`, `skills`, or a host strategy's name. */
  strategy: StrategyName,
  overflow: Schema.optional(Overflow),
  updatedAt: Schema.DateFromNumber
}) {}

/** What `routing.upsertTeam` takes; omitted fields get defaults on create and stay on update. */
export const TeamInput = Schema.Struct({
  id: RoutingId,
  name: Schema.optional(Schema.String),
  strategy: Schema.optional(StrategyName),
  /** `null` removes the overflow. */
  overflow: Schema.optional(Schema.NullOr(Overflow))
})
/** @see TeamInput */
export type TeamInput = typeof TeamInput.Encoded

/** What `routing.upsertParticipant` takes; omitted fields get defaults on create and stay on update. */
export const ParticipantInput = Schema.Struct({
  id: RoutingId,
  kind: Schema.optional(ParticipantKind),
  name: Schema.optional(Schema.String),
  role: Schema.optional(ParticipantRole),
  teams: Schema.optional(Schema.Array(RoutingId)),
  skills: Schema.optional(Schema.Array(Schema.String.pipe(Schema.minLength(1)))),
  capacity: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.between(0, 100_000))),
  availability: Schema.optional(Availability),
  /** `null` removes the calendar. */
  calendar: Schema.optional(Schema.NullOr(BusinessCalendar))
})
/** @see ParticipantInput */
export type ParticipantInput = typeof ParticipantInput.Encoded
