import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { planQueue } from "../../src/routing/QueuePlan.js"
import {
  builtInStrategies,
  type MemberSnapshot,
  type RoutingRequest,
  roundRobin,
  type TeamSnapshot
} from "../../src/routing/RoutingStrategy.js"

const skillPool = ["billing", "fi", "sv", "tech"]

const memberArb = (i: number) =>
  fc
    .record({
      capacity: fc.integer({ min: 0, max: 4 }),
      available: fc.boolean(),
      skills: fc.subarray(skillPool)
    })
    .map((m): MemberSnapshot => ({ id: `a${String(i).padStart(2, "0")}`, kind: "agent", load: 0, ...m }))

const teamArb = fc
  .integer({ min: 1, max: 6 })
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => memberArb(i))))

/** What happens next in the simulated contact centre. */
type Step =
  | { readonly _tag: "arrive"; readonly skills: ReadonlyArray<string> }
  | { readonly _tag: "resolve"; readonly member: number }
  | { readonly _tag: "toggle"; readonly member: number }

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      _tag: fc.constant("arrive" as const),
      skills: fc.subarray(skillPool, { maxLength: 1 })
    })
  },
  { weight: 2, arbitrary: fc.record({ _tag: fc.constant("resolve" as const), member: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.record({ _tag: fc.constant("toggle" as const), member: fc.nat(5) }) }
)

const request = (n: number, skills: ReadonlyArray<string>): RoutingRequest => ({
  conversationId: `c${String(n).padStart(4, "0")}`,
  priority: "normal",
  tags: [],
  skills
})

describe("queue planning (property)", () => {
  it("never exceeds capacity, loses no conversation, keeps queue order, for every strategy", () => {
    fc.assert(
      fc.property(
        teamArb,
        fc.array(stepArb, { maxLength: 80 }),
        fc.constantFrom(...Object.keys(builtInStrategies)),
        (initialMembers, steps, strategyName) => {
          const strategy = builtInStrategies[strategyName]!
          let team: TeamSnapshot = { teamId: "t", members: initialMembers }
          let queue: RoutingRequest[] = []
          const owner = new Map<string, string>()
          const open = new Map<string, string[]>(initialMembers.map((m) => [m.id, []]))
          let arrived = 0
          for (const step of steps) {
            const members = [...team.members]
            if (step._tag === "arrive") queue.push(request(arrived++, step.skills))
            else if (step._tag === "resolve") {
              const m = members[step.member % members.length]!
              const list = open.get(m.id)!
              if (list.length > 0) {
                list.shift()
                members[step.member % members.length] = { ...m, load: m.load - 1 }
              }
            } else {
              const i = step.member % members.length
              members[i] = { ...members[i]!, available: !members[i]!.available }
            }
            team = { ...team, members }
            const plan = planQueue(team, queue, strategy)
            // Every queued conversation is in exactly one of the two outcomes.
            const placed = plan.assignments.map((a) => a.conversationId)
            const waiting = plan.waiting.map((r) => r.conversationId)
            expect([...placed, ...waiting].sort()).toEqual(queue.map((r) => r.conversationId).sort())
            expect(new Set(placed).size).toBe(placed.length)
            // Those still waiting keep their order.
            expect(waiting).toEqual(queue.map((r) => r.conversationId).filter((id) => waiting.includes(id)))
            for (const a of plan.assignments) {
              expect(owner.has(a.conversationId)).toBe(false)
              owner.set(a.conversationId, a.memberId)
              open.get(a.memberId)!.push(a.conversationId)
              const before = team.members.find((m) => m.id === a.memberId)!
              expect(before.available).toBe(true)
            }
            for (const m of plan.team.members) {
              expect(m.load).toBeLessThanOrEqual(m.capacity)
              expect(m.load).toBe(open.get(m.id)!.length)
            }
            team = plan.team
            queue = [...plan.waiting]
          }
          // Nothing lost over the whole run: every arrival is owned or still queued.
          expect(owner.size + queue.length).toBe(arrived)
        }
      ),
      { numRuns: 400 }
    )
  })

  it("round robin is fair within one over a full cycle", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 60 }),
        fc.option(fc.nat(7), { nil: undefined }),
        fc.boolean(),
        (size, arrivals, startAfter, oneByOne) => {
          const members: MemberSnapshot[] = Array.from({ length: size }, (_, i) => ({
            id: `a${i}`,
            kind: "agent",
            skills: [],
            capacity: 1000,
            load: 0,
            available: true
          }))
          const lastAssigned = startAfter === undefined ? undefined : `a${startAfter % size}`
          let team: TeamSnapshot = { teamId: "t", members, lastAssigned }
          const picks: string[] = []
          const requests = Array.from({ length: arrivals }, (_, i) => request(i, []))
          // Arrivals one at a time (each its own plan) or all at once: the same fairness.
          for (const batch of oneByOne ? requests.map((r) => [r]) : [requests]) {
            const plan = planQueue(team, batch, roundRobin)
            picks.push(...plan.assignments.map((a) => a.memberId))
            team = plan.team
          }
          expect(picks.length).toBe(arrivals)
          const counts = members.map((m) => picks.filter((p) => p === m.id).length)
          expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1)
          // Every window of one full cycle holds each member exactly once.
          for (let i = 0; i + size <= picks.length; i++)
            expect(new Set(picks.slice(i, i + size)).size).toBe(size)
        }
      ),
      { numRuns: 300 }
    )
  })

  it("a host strategy cannot push anyone over capacity or onto an unavailable member", () => {
    fc.assert(
      fc.property(teamArb, fc.integer({ min: 0, max: 30 }), fc.nat(), (members, arrivals, seed) => {
        // A hostile strategy: always names some member, whatever their state.
        const reckless = (t: TeamSnapshot) => t.members[seed % t.members.length]!.id
        const plan = planQueue(
          { teamId: "t", members },
          Array.from({ length: arrivals }, (_, i) => request(i, [])),
          reckless
        )
        for (const m of plan.team.members) expect(m.load).toBeLessThanOrEqual(Math.max(m.capacity, 0))
        for (const a of plan.assignments)
          expect(members.find((m) => m.id === a.memberId)!.available).toBe(true)
        expect(plan.assignments.length + plan.waiting.length).toBe(arrivals)
      }),
      { numRuns: 300 }
    )
  })
})
