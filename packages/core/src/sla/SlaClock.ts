import { Schema } from "effect"
import type { ConversationId } from "../domain/Ids.js"
import { SlaTarget } from "./SlaPolicy.js"

/**
 * One running or paused clock of a conversation: one cycle of one target (a first response,
 * the next response after a customer message, a resolution). `startedAt` names the cycle.
 */
export const SlaClock = Schema.Struct({
  target: SlaTarget,
  policyId: Schema.String,
  /** The policy version the cycle started under (see `policyVersion`). */
  policyVersion: Schema.String,
  targetMs: Schema.Number,
  startedAt: Schema.DateFromNumber,
  /** The channel of the customer message that started the cycle. */
  channel: Schema.optional(Schema.String),
  state: Schema.Literal("running", "paused"),
  /** Business milliseconds used before `runningSince` (running) or in total (paused). */
  usedMs: Schema.Number,
  runningSince: Schema.optional(Schema.DateFromNumber),
  /** When the warning is due (running, not yet warned). */
  warnAt: Schema.optional(Schema.DateFromNumber),
  /** When the target is due (running); absent when the calendar never opens. */
  dueAt: Schema.optional(Schema.DateFromNumber),
  warned: Schema.Boolean,
  breached: Schema.Boolean
})
/** @see SlaClock */
export type SlaClock = typeof SlaClock.Type

/** The SLA state kept with a conversation. */
export const SlaClockState = Schema.Struct({
  /** True once a public agent or bot reply was sent: customer messages then start next-response clocks. */
  responded: Schema.Boolean,
  clocks: Schema.Array(SlaClock)
})
/** @see SlaClockState */
export type SlaClockState = typeof SlaClockState.Type

/** A conversation's SLA state as stored (one row per conversation). */
export interface SlaClockRow {
  readonly conversationId: ConversationId
  readonly state: SlaClockState
}

/** The state of a conversation that has no clocks yet. */
export const emptyClockState: SlaClockState = { responded: false, clocks: [] }

const time = (date: Date | undefined) => (date === undefined ? undefined : date.getTime())

/**
 * The stored form of a clock state (dates as epoch milliseconds), as `Schema.encodeSync` would
 * produce it; built by hand because arming writes one per conversation on hot paths. A test
 * compares the two.
 */
export const encodeClockState = (state: SlaClockState): typeof SlaClockState.Encoded => ({
  responded: state.responded,
  clocks: state.clocks.map((c) => ({
    target: c.target,
    policyId: c.policyId,
    policyVersion: c.policyVersion,
    targetMs: c.targetMs,
    startedAt: c.startedAt.getTime(),
    channel: c.channel,
    state: c.state,
    usedMs: c.usedMs,
    runningSince: time(c.runningSince),
    warnAt: time(c.warnAt),
    dueAt: time(c.dueAt),
    warned: c.warned,
    breached: c.breached
  }))
})
/** A clock state from its stored form. */
export const decodeClockState = Schema.decodeUnknownSync(SlaClockState)

/**
 * How one clock cycle ended, for reports: met (stopped in time) or breached (recorded when the
 * breach fires; `businessMs` is filled in when the late reply or resolution comes). One row per
 * cycle, keyed by conversation, target and `startedAt`.
 */
export interface SlaOutcome {
  readonly conversationId: ConversationId
  readonly target: SlaTarget
  readonly startedAt: Date
  readonly policyId: string
  readonly channel: string | undefined
  readonly team: string | undefined
  readonly agent: string | undefined
  /** When the outcome was decided: the stop (met) or the breach. */
  readonly at: Date
  readonly dueAt: Date | undefined
  readonly breached: boolean
  /** Business time the cycle took; undefined while a breached cycle is still running. */
  readonly businessMs: number | undefined
}

/** A policy version as recorded in the store. */
export interface SlaPolicyRecord {
  readonly id: string
  readonly version: string
  /** The encoded policy (`encodeSlaPolicy`). */
  readonly policy: unknown
}

/** What an SLA report groups by. */
export const SlaReportGroup = Schema.Literal("policy", "channel", "team", "agent")
/** @see SlaReportGroup */
export type SlaReportGroup = typeof SlaReportGroup.Type

/** The question of `hub.reports.sla`: outcomes decided in `[from, to)`, grouped. */
export const SlaReportQuery = Schema.Struct({
  from: Schema.Union(Schema.DateFromSelf, Schema.DateFromNumber, Schema.Date),
  to: Schema.Union(Schema.DateFromSelf, Schema.DateFromNumber, Schema.Date),
  groupBy: SlaReportGroup
}).pipe(Schema.filter((q) => q.from.getTime() <= q.to.getTime() || "from must not be after to"))
/** @see SlaReportQuery */
export type SlaReportQuery = typeof SlaReportQuery.Type

/** One (group, target) line as the store computes it. */
export interface SlaReportLine {
  /** The group's value: a policy id, channel, team id or agent id; null when there is none. */
  readonly group: string | null
  readonly target: SlaTarget
  readonly cycles: number
  readonly breaches: number
  /** Percentiles of business time over the cycles that have one (continuous, interpolated). */
  readonly p50Ms: number | null
  readonly p90Ms: number | null
}
