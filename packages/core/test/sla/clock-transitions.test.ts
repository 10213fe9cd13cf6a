import { Schema } from "effect"
import { describe, expect, it } from "vitest"
import {
  BusinessCalendar,
  type ContactId,
  Conversation,
  type ConversationId,
  decodeClockState,
  emptyClockState,
  encodeClockState,
  onDeadline,
  onInbound,
  onPublicReply,
  onStatusChange,
  type SlaClock,
  SlaClockState,
  SlaPolicy,
  type SlaStep,
  slaDeadlineKey
} from "../../src/index.js"

const HOUR = 3_600_000
const MINUTE = 60_000

// Monday to Friday 09:00-17:00 in Helsinki.
const officeHours = new BusinessCalendar({
  timeZone: "Europe/Helsinki",
  weekly: {
    monday: ["09:00-17:00"],
    tuesday: ["09:00-17:00"],
    wednesday: ["09:00-17:00"],
    thursday: ["09:00-17:00"],
    friday: ["09:00-17:00"]
  }
})

const policy = new SlaPolicy({
  id: "standard",
  targets: { firstResponse: 4 * HOUR, nextResponse: 2 * HOUR, resolution: 16 * HOUR },
  warnAt: 0.75,
  calendar: officeHours
})
const policyOf = () => policy

const conversation = (status: Conversation["status"] = "open") =>
  new Conversation({
    id: "cv_1" as ConversationId,
    contactId: "ct_1" as ContactId,
    status,
    assignee: { _tag: "agent", id: "anna" },
    priority: "normal",
    tags: [],
    externalRefs: [],
    lastMessageAt: new Date(0),
    createdAt: new Date(0),
    updatedAt: new Date(0)
  })

// Wednesday 2026-03-04 10:00 Helsinki (UTC+2).
const wednesday10 = new Date("2026-03-04T08:00:00Z")
const at = (base: Date, ms: number) => new Date(base.getTime() + ms)

const inbound = (state = emptyClockState, now = wednesday10, status: Conversation["status"] = "open") =>
  onInbound({
    conversation: conversation(status),
    state,
    now,
    channel: "email",
    policy,
    policyOf,
    acknowledgeable: true
  })

const clock = (step: SlaStep, target: SlaClock["target"]) =>
  step.state.clocks.find((c) => c.target === target)

describe("clock transitions", () => {
  it("the first customer message starts first-response and resolution clocks in business time", () => {
    const step = inbound()
    // 10:00 + 4 business hours = 14:00 Helsinki = 12:00Z; warning at 75% = 13:00 Helsinki.
    expect(clock(step, "first_response")?.dueAt).toEqual(new Date("2026-03-04T12:00:00Z"))
    expect(clock(step, "first_response")?.warnAt).toEqual(new Date("2026-03-04T11:00:00Z"))
    // 16 business hours from Wednesday 10:00: Wednesday 7 h, Thursday 8 h, Friday 1 h -> Friday 10:00.
    expect(clock(step, "resolution")?.dueAt).toEqual(new Date("2026-03-06T08:00:00Z"))
    // One deadline per clock: its warning first (the warning arms the breach).
    expect(step.arm.map((d) => [d.key, d.payload.phase, d.dueAt])).toEqual([
      [slaDeadlineKey("cv_1", "first_response"), "warning", new Date("2026-03-04T11:00:00Z")],
      [slaDeadlineKey("cv_1", "resolution"), "warning", clock(step, "resolution")!.warnAt]
    ])
    expect(step.events).toEqual([])
  })

  it("a second message in the same burst changes nothing", () => {
    const first = inbound()
    const second = inbound(first.state, at(wednesday10, 10 * MINUTE))
    expect(second.changed).toBe(false)
    expect(second.arm).toEqual([])
  })

  it("a public reply stops the response clock: sla.met with the business time it took", () => {
    const started = inbound(emptyClockState, new Date("2026-03-04T14:30:00Z")) // 16:30 Helsinki
    // Answered next morning 09:45: 30 min on Wednesday + 45 min on Thursday.
    const replied = onPublicReply({
      conversation: conversation(),
      state: started.state,
      now: new Date("2026-03-05T07:45:00Z"),
      policyOf
    })
    expect(replied.events).toEqual([
      expect.objectContaining({ _tag: "sla.met", target: "first_response", businessMs: 75 * MINUTE })
    ])
    expect(replied.outcomes).toEqual([
      expect.objectContaining({
        target: "first_response",
        breached: false,
        businessMs: 75 * MINUTE,
        agent: "anna"
      })
    ])
    expect(replied.cancel).toEqual(["sla:cv_1:clock:first_response:"])
    expect(replied.state.responded).toBe(true)
    expect(clock(replied, "resolution")).toBeDefined()
    // The next customer message starts a next-response clock (2 business hours).
    const next = inbound(replied.state, new Date("2026-03-05T08:00:00Z"))
    expect(clock(next, "next_response")?.dueAt).toEqual(new Date("2026-03-05T10:00:00Z"))
    expect(clock(next, "first_response")).toBeUndefined()
  })

  it("waiting on the customer pauses the clocks; resuming moves the due time by the paused business time", () => {
    const started = inbound()
    const paused = onStatusChange({
      conversation: conversation("waiting_on_customer"),
      from: "open",
      to: "waiting_on_customer",
      state: started.state,
      now: at(wednesday10, HOUR),
      policy,
      policyOf
    })
    expect(clock(paused, "first_response")).toMatchObject({ state: "paused", usedMs: HOUR, dueAt: undefined })
    expect(paused.arm).toEqual([])
    expect(new Set(paused.cancel)).toEqual(
      new Set(["sla:cv_1:clock:first_response:", "sla:cv_1:clock:resolution:"])
    )
    // The customer answers at 16:00: 3 of the 4 hours remain, 1 today -> due Thursday 11:00 Helsinki.
    const resumed = inbound(paused.state, new Date("2026-03-04T14:00:00Z"), "waiting_on_customer")
    expect(clock(resumed, "first_response")).toMatchObject({
      state: "running",
      usedMs: HOUR,
      dueAt: new Date("2026-03-05T09:00:00Z")
    })
    expect(resumed.arm.some((d) => d.key === slaDeadlineKey("cv_1", "first_response"))).toBe(true)
  })

  it("a policy that does not pause on snoozed keeps counting", () => {
    const keepsCounting = new SlaPolicy({ ...policy, pauseOn: ["waiting_on_customer"] })
    const started = onInbound({
      conversation: conversation(),
      state: emptyClockState,
      now: wednesday10,
      channel: "email",
      policy: keepsCounting,
      policyOf: () => keepsCounting,
      acknowledgeable: true
    })
    const snoozed = onStatusChange({
      conversation: conversation("snoozed"),
      from: "open",
      to: "snoozed",
      state: started.state,
      now: at(wednesday10, HOUR),
      policy: keepsCounting,
      policyOf: () => keepsCounting
    })
    expect(snoozed.changed).toBe(false)
    expect(snoozed.state.clocks.every((c) => c.state === "running")).toBe(true)
  })

  it("warning then breach fire once each; a deadline of an older cycle is ignored", () => {
    const started = inbound()
    const c = clock(started, "first_response")!
    const payload = (phase: "warning" | "breach") => ({
      conversationId: "cv_1",
      target: "first_response" as const,
      phase,
      startedAt: c.startedAt.getTime(),
      dueAt: c.dueAt!.getTime()
    })
    const warned = onDeadline({
      conversation: conversation(),
      state: started.state,
      payload: payload("warning"),
      now: c.warnAt!,
      policyOf
    })
    expect(warned.events.map((e) => e._tag)).toEqual(["sla.warning"])
    expect(warned.arm).toEqual([
      expect.objectContaining({
        key: slaDeadlineKey("cv_1", "first_response"),
        dueAt: c.dueAt,
        payload: expect.objectContaining({ phase: "breach" })
      })
    ])
    const again = onDeadline({
      conversation: conversation(),
      state: warned.state,
      payload: payload("warning"),
      now: c.warnAt!,
      policyOf
    })
    expect(again.events).toEqual([])
    const breached = onDeadline({
      conversation: conversation(),
      state: warned.state,
      payload: payload("breach"),
      now: c.dueAt!,
      policyOf
    })
    expect(breached.events).toEqual([
      expect.objectContaining({ _tag: "sla.breached", businessMs: 4 * HOUR, dueAt: c.dueAt!.getTime() })
    ])
    expect(breached.outcomes).toEqual([expect.objectContaining({ breached: true, businessMs: undefined })])
    const stale = onDeadline({
      conversation: conversation(),
      state: breached.state,
      payload: { ...payload("breach"), startedAt: 1 },
      now: c.dueAt!,
      policyOf
    })
    expect(stale.changed).toBe(false)
    // A late reply records the business time of the breached cycle, without sla.met.
    const late = onPublicReply({
      conversation: conversation(),
      state: breached.state,
      now: at(c.dueAt!, HOUR),
      policyOf
    })
    expect(late.events).toEqual([])
    expect(late.outcomes).toEqual([expect.objectContaining({ breached: true, businessMs: 5 * HOUR })])
  })

  it("resolving stops the resolution clock and drops unanswered response clocks; reopening restarts resolution", () => {
    const started = inbound()
    const resolved = onStatusChange({
      conversation: conversation("resolved"),
      from: "open",
      to: "resolved",
      state: started.state,
      now: at(wednesday10, 2 * HOUR),
      policy,
      policyOf
    })
    expect(resolved.events).toEqual([
      expect.objectContaining({ _tag: "sla.met", target: "resolution", businessMs: 2 * HOUR })
    ])
    expect(resolved.state.clocks).toEqual([])
    const reopened = onStatusChange({
      conversation: conversation("open"),
      from: "resolved",
      to: "open",
      state: resolved.state,
      now: at(wednesday10, 3 * HOUR),
      policy,
      policyOf
    })
    expect(reopened.state.clocks.map((c) => c.target)).toEqual(["resolution"])
    expect(clock(reopened, "resolution")?.startedAt).toEqual(at(wednesday10, 3 * HOUR))
    // Reopened straight into waiting_on_customer: the new clock starts paused and arms nothing.
    const reopenedWaiting = onStatusChange({
      conversation: conversation("waiting_on_customer"),
      from: "resolved",
      to: "waiting_on_customer",
      state: resolved.state,
      now: at(wednesday10, 3 * HOUR),
      policy,
      policyOf
    })
    expect(clock(reopenedWaiting, "resolution")?.state).toBe("paused")
    expect(reopenedWaiting.arm).toEqual([])
  })

  it("an acknowledgement is armed once per burst and never for automated senders", () => {
    const acking = new SlaPolicy({ ...policy, autoAcknowledge: true })
    const step = (state: typeof emptyClockState, acknowledgeable: boolean) =>
      onInbound({
        conversation: conversation(),
        state,
        now: wednesday10,
        channel: "email",
        policy: acking,
        policyOf: () => acking,
        acknowledgeable
      })
    const first = step(emptyClockState, true)
    expect(first.arm.filter((d) => d.key === "sla:cv_1:ack")).toHaveLength(1)
    expect(step(first.state, true).arm).toEqual([])
    expect(step(emptyClockState, false).arm.some((d) => d.key === "sla:cv_1:ack")).toBe(false)
  })
})

describe("clock state encoding", () => {
  it("the hand-written encoder gives what Schema.encodeSync gives", () => {
    const started = inbound()
    const paused = onStatusChange({
      conversation: conversation("snoozed"),
      from: "open",
      to: "snoozed",
      state: started.state,
      now: at(wednesday10, HOUR),
      policy,
      policyOf
    })
    for (const state of [started.state, paused.state, emptyClockState]) {
      const byHand = JSON.parse(JSON.stringify(encodeClockState(state)))
      expect(byHand).toEqual(JSON.parse(JSON.stringify(Schema.encodeSync(SlaClockState)(state))))
      expect(decodeClockState(byHand)).toEqual(state)
    }
  })
})
