import { Either } from "effect"
import type { Conversation, ConversationStatus } from "../domain/Conversation.js"
import type { EventBody } from "../domain/Event.js"
import type { ConversationId } from "../domain/Ids.js"
import type { NewDeadline } from "../store/Store.js"
import { addBusinessTime, businessTimeBetween } from "./BusinessCalendar.js"
import type { SlaClock, SlaClockState, SlaOutcome } from "./SlaClock.js"
import { policyVersion, type SlaPolicy, type SlaTarget } from "./SlaPolicy.js"

// Clock transitions as pure functions: each takes the stored state and what happened, and
// returns the new state with the deadlines to arm, the deadline key prefixes to cancel, the
// events and the report outcomes. The hub writes all of it in the transaction of the change.

/** The deadline kind of SLA warnings, breaches and acknowledgements. */
export const slaDeadlineKind = "sla"

/** What a fired SLA deadline is for. */
export type SlaPhase = "warning" | "breach"

/** The payload of an SLA deadline. */
export interface SlaDeadlinePayload {
  readonly conversationId: string
  readonly phase: SlaPhase | "ack"
  readonly target?: SlaTarget | undefined
  /** The cycle the deadline belongs to (epoch ms): a deadline of an older cycle is ignored. */
  readonly startedAt: number
  readonly dueAt?: number | undefined
}

/** The key prefix of every SLA deadline of a conversation. */
export const slaKeyPrefix = (conversationId: string): string => `sla:${conversationId}:`
/** The key prefix of a conversation's clock deadlines (warnings and breaches, not the acknowledgement). */
export const slaClockKeyPrefix = (conversationId: string): string => `${slaKeyPrefix(conversationId)}clock:`
const targetPrefix = (conversationId: string, target: SlaTarget) =>
  `${slaClockKeyPrefix(conversationId)}${target}:`
/** The key of a clock's deadline (its warning, then its breach). */
export const slaDeadlineKey = (conversationId: string, target: SlaTarget): string =>
  `${targetPrefix(conversationId, target)}due`
/** The key of a conversation's pending auto-acknowledgement. */
export const ackDeadlineKey = (conversationId: string): string => `${slaKeyPrefix(conversationId)}ack`

/** The result of a transition. */
export interface SlaStep {
  readonly state: SlaClockState
  /** True when `state` differs from the input (the row must be written). */
  readonly changed: boolean
  readonly arm: ReadonlyArray<NewDeadline>
  /** Key prefixes of deadlines to cancel. */
  readonly cancel: ReadonlyArray<string>
  readonly events: ReadonlyArray<EventBody>
  readonly outcomes: ReadonlyArray<SlaOutcome>
}

/** Looks up the policy version a running clock started under. */
export type PolicyOf = (clock: SlaClock) => SlaPolicy | undefined

interface Builder {
  clocks: SlaClock[]
  responded: boolean
  changed: boolean
  arm: NewDeadline[]
  cancel: string[]
  events: EventBody[]
  outcomes: SlaOutcome[]
}

const builder = (state: SlaClockState): Builder => ({
  clocks: [...state.clocks],
  responded: state.responded,
  changed: false,
  arm: [],
  cancel: [],
  events: [],
  outcomes: []
})

// Only deadlines that the final state still expects: a clock started and then paused in the
// same step (a reopen into a paused status) arms nothing. That makes "cancel, then arm" a safe
// order for the writer.
const stillExpected = (clocks: ReadonlyArray<SlaClock>, d: NewDeadline): boolean => {
  const p = d.payload as unknown as SlaDeadlinePayload
  if (p.phase === "ack")
    return clocks.some(
      (c) =>
        (c.target === "first_response" || c.target === "next_response") &&
        c.startedAt.getTime() === p.startedAt
    )
  return clocks.some(
    (c) =>
      c.target === p.target &&
      c.state === "running" &&
      c.startedAt.getTime() === p.startedAt &&
      (p.phase === "warning" ? c.warnAt : c.dueAt)?.getTime() === d.dueAt.getTime()
  )
}

const finish = (b: Builder): SlaStep => ({
  state: { responded: b.responded, clocks: b.clocks },
  changed: b.changed,
  arm: b.arm.filter((d) => stillExpected(b.clocks, d)),
  cancel: b.cancel,
  events: b.events,
  outcomes: b.outcomes
})

const rightOrUndefined = <A>(either: Either.Either<A, unknown>): A | undefined =>
  Either.isRight(either) ? either.right : undefined

/** Business milliseconds a clock has used by `now`. */
export const usedBy = (clock: SlaClock, now: Date, policy: SlaPolicy | undefined): number =>
  clock.state === "running" && clock.runningSince !== undefined && policy !== undefined
    ? clock.usedMs + Math.max(0, businessTimeBetween(clock.runningSince, now, policy.calendar))
    : clock.usedMs

/** A clock set running at `now` with `usedMs` already used: due and warning times computed. */
const running = (clock: SlaClock, now: Date, policy: SlaPolicy): SlaClock => {
  const left = clock.targetMs - clock.usedMs
  const dueAt = left > 0 ? rightOrUndefined(addBusinessTime(now, left, policy.calendar)) : now
  const warnLeft = clock.targetMs * policy.warnAt - clock.usedMs
  const warnAt =
    clock.warned || clock.breached || warnLeft <= 0
      ? undefined
      : rightOrUndefined(addBusinessTime(now, warnLeft, policy.calendar))
  return { ...clock, state: "running", runningSince: now, dueAt, warnAt }
}

// One deadline row per running clock: its next event. The warning's handler arms the breach
// under the same key, so a million clocks are a million rows, not two million.
const deadlinesOf = (conversationId: string, clock: SlaClock): NewDeadline[] => {
  const base = {
    conversationId,
    target: clock.target,
    startedAt: clock.startedAt.getTime(),
    dueAt: clock.dueAt?.getTime()
  }
  const key = slaDeadlineKey(conversationId, clock.target)
  if (!clock.warned && !clock.breached && clock.warnAt !== undefined)
    return [{ key, kind: slaDeadlineKind, dueAt: clock.warnAt, payload: { ...base, phase: "warning" } }]
  if (!clock.breached && clock.dueAt !== undefined)
    return [{ key, kind: slaDeadlineKind, dueAt: clock.dueAt, payload: { ...base, phase: "breach" } }]
  return []
}

const startClock = (
  b: Builder,
  conversationId: string,
  target: SlaTarget,
  targetMs: number,
  policy: SlaPolicy,
  now: Date,
  channel: string | undefined
) => {
  const clock = running(
    {
      target,
      policyId: policy.id,
      policyVersion: policyVersion(policy),
      targetMs,
      startedAt: now,
      channel,
      state: "running",
      usedMs: 0,
      warned: false,
      breached: false
    },
    now,
    policy
  )
  b.clocks.push(clock)
  b.arm.push(...deadlinesOf(conversationId, clock))
  b.changed = true
  return clock
}

const assigneeOf = (conversation: Conversation) => ({
  team: conversation.assignee._tag === "team" ? conversation.assignee.id : undefined,
  agent: conversation.assignee._tag === "agent" ? conversation.assignee.id : undefined
})

const timing = (clock: SlaClock, businessMs: number) => ({
  policyId: clock.policyId,
  target: clock.target,
  dueAt: clock.dueAt?.getTime(),
  targetMs: clock.targetMs,
  businessMs
})

/** Stops a clock: `sla.met` when in time, and the cycle's outcome either way. */
const stopClock = (
  b: Builder,
  conversation: Conversation,
  clock: SlaClock,
  now: Date,
  policyOf: PolicyOf,
  record: boolean
) => {
  b.clocks = b.clocks.filter((c) => c !== clock)
  b.cancel.push(targetPrefix(conversation.id, clock.target))
  b.changed = true
  if (!record) return
  const used = usedBy(clock, now, policyOf(clock))
  const breached = clock.breached || used > clock.targetMs
  if (!breached) b.events.push({ _tag: "sla.met", conversationId: conversation.id, ...timing(clock, used) })
  b.outcomes.push({
    conversationId: conversation.id,
    target: clock.target,
    startedAt: clock.startedAt,
    policyId: clock.policyId,
    channel: clock.channel,
    ...assigneeOf(conversation),
    at: now,
    dueAt: clock.dueAt,
    breached,
    businessMs: used
  })
}

/** Pauses or resumes every clock for the conversation's status `status`. */
const followStatus = (
  b: Builder,
  conversationId: ConversationId,
  status: ConversationStatus,
  now: Date,
  policyOf: PolicyOf
) => {
  b.clocks = b.clocks.map((clock) => {
    const policy = policyOf(clock)
    if (policy === undefined) return clock
    const pause = status !== "open" && status !== "resolved" && policy.pauseOn.includes(status)
    if (clock.state === "running" && pause) {
      b.changed = true
      b.cancel.push(targetPrefix(conversationId, clock.target))
      return {
        ...clock,
        state: "paused",
        usedMs: usedBy(clock, now, policy),
        runningSince: undefined,
        dueAt: undefined,
        warnAt: undefined
      }
    }
    if (clock.state === "paused" && !pause) {
      b.changed = true
      const resumed = running(clock, now, policy)
      b.arm.push(...deadlinesOf(conversationId, resumed))
      return resumed
    }
    return clock
  })
}

/** What {@link onInbound} needs. */
export interface InboundInput {
  /** The conversation as it was before the message (a new one is `open`). */
  readonly conversation: Conversation
  readonly state: SlaClockState
  readonly now: Date
  readonly channel: string
  /** The first policy matching the conversation now: used for clocks that start. */
  readonly policy: SlaPolicy | undefined
  readonly policyOf: PolicyOf
  /** False for automated senders (auto-replies, bounces): never acknowledged. */
  readonly acknowledgeable: boolean
}

/**
 * A customer message arrived. Paused clocks resume (the conversation is open again); a first
 * response clock starts if nobody has answered yet, else a next response clock, unless one is
 * running (a burst of messages is one wait); a resolution clock starts if none runs. When a
 * response clock starts and the policy asks for it, an acknowledgement is armed, due at once.
 */
export const onInbound = (input: InboundInput): SlaStep => {
  const { conversation, now, policy } = input
  const b = builder(input.state)
  followStatus(b, conversation.id, "open", now, input.policyOf)
  if (policy === undefined) return finish(b)
  const has = (target: SlaTarget) => b.clocks.some((c) => c.target === target)
  const responseTarget: SlaTarget = b.responded ? "next_response" : "first_response"
  const responseMs = b.responded ? policy.targets.nextResponse : policy.targets.firstResponse
  let burst: SlaClock | undefined
  if (!has("first_response") && !has("next_response") && responseMs !== undefined)
    burst = startClock(b, conversation.id, responseTarget, responseMs, policy, now, input.channel)
  if (!has("resolution") && policy.targets.resolution !== undefined)
    startClock(b, conversation.id, "resolution", policy.targets.resolution, policy, now, input.channel)
  if (burst !== undefined && policy.autoAcknowledge && input.acknowledgeable)
    b.arm.push({
      key: ackDeadlineKey(conversation.id),
      kind: slaDeadlineKind,
      dueAt: now,
      payload: { conversationId: conversation.id, phase: "ack", startedAt: burst.startedAt.getTime() }
    })
  return finish(b)
}

/** A public agent or bot reply went out: the response clocks stop (met, or late). */
export const onPublicReply = (input: {
  readonly conversation: Conversation
  readonly state: SlaClockState
  readonly now: Date
  readonly policyOf: PolicyOf
}): SlaStep => {
  const b = builder(input.state)
  if (!b.responded) {
    b.responded = true
    b.changed = true
  }
  for (const clock of input.state.clocks)
    if (clock.target === "first_response" || clock.target === "next_response")
      stopClock(b, input.conversation, clock, input.now, input.policyOf, true)
  return finish(b)
}

/**
 * The conversation's status changed. Resolving stops the resolution clock (met or late) and
 * drops response clocks nobody answered; reopening starts a new resolution cycle under the
 * policy matching now; entering or leaving a paused status pauses or resumes the clocks of
 * policies that pause on it.
 */
export const onStatusChange = (input: {
  readonly conversation: Conversation
  readonly from: ConversationStatus
  readonly to: ConversationStatus
  readonly state: SlaClockState
  readonly now: Date
  readonly policy: SlaPolicy | undefined
  readonly policyOf: PolicyOf
}): SlaStep => {
  const { conversation, now, to } = input
  const b = builder(input.state)
  if (input.from === to) return finish(b)
  if (to === "resolved") {
    for (const clock of input.state.clocks)
      stopClock(b, conversation, clock, now, input.policyOf, clock.target === "resolution")
    b.cancel.push(ackDeadlineKey(conversation.id))
    return finish(b)
  }
  if (input.from === "resolved" && input.policy?.targets.resolution !== undefined)
    startClock(
      b,
      conversation.id,
      "resolution",
      input.policy.targets.resolution,
      input.policy,
      now,
      conversation.lastInboundChannel
    )
  followStatus(b, conversation.id, to, now, input.policyOf)
  return finish(b)
}

/**
 * A warning or breach deadline fired. Fires once per cycle: a deadline of a cycle that ended
 * or moved (its `startedAt` or due time no longer matches) changes nothing.
 */
export const onDeadline = (input: {
  readonly conversation: Conversation
  readonly state: SlaClockState
  readonly payload: SlaDeadlinePayload
  readonly now: Date
  readonly policyOf: PolicyOf
}): SlaStep => {
  const { payload, now, conversation } = input
  const b = builder(input.state)
  const index = b.clocks.findIndex(
    (c) =>
      c.target === payload.target &&
      c.startedAt.getTime() === payload.startedAt &&
      c.state === "running" &&
      c.dueAt?.getTime() === payload.dueAt
  )
  const clock = b.clocks[index]
  if (clock === undefined || payload.phase === "ack") return finish(b)
  const used = usedBy(clock, now, input.policyOf(clock))
  if (payload.phase === "warning" && !clock.warned && !clock.breached) {
    const warned: SlaClock = { ...clock, warned: true, warnAt: undefined }
    b.clocks[index] = warned
    b.changed = true
    b.events.push({ _tag: "sla.warning", conversationId: conversation.id, ...timing(clock, used) })
    b.arm.push(...deadlinesOf(conversation.id, warned))
  } else if (payload.phase === "breach" && !clock.breached) {
    b.clocks[index] = { ...clock, warned: true, breached: true, warnAt: undefined }
    b.changed = true
    b.events.push({ _tag: "sla.breached", conversationId: conversation.id, ...timing(clock, used) })
    b.outcomes.push({
      conversationId: conversation.id,
      target: clock.target,
      startedAt: clock.startedAt,
      policyId: clock.policyId,
      channel: clock.channel,
      ...assigneeOf(conversation),
      at: now,
      dueAt: clock.dueAt,
      breached: true,
      businessMs: undefined
    })
  }
  return finish(b)
}

/** Every warning and breach deadline that `state` expects to be armed. */
export const expectedDeadlines = (conversationId: string, state: SlaClockState): NewDeadline[] =>
  state.clocks.flatMap((clock) => (clock.state === "running" ? deadlinesOf(conversationId, clock) : []))

/** The running response clock (first or next) of a state: what the customer is waiting for. */
export const responseClock = (state: SlaClockState): SlaClock | undefined =>
  state.clocks.find((c) => c.target === "first_response" || c.target === "next_response")
