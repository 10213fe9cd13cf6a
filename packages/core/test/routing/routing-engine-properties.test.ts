import { Effect } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { createHub, type DialogiHub, MemoryStore } from "../../src/index.js"
import { createTestChannelAdapter } from "../../src/testing/TestChannelAdapter.js"

// The same properties as queue-plan-properties, through the whole hub: the durable routing
// jobs, the queue rows and the capacity checks of the store, under random arrivals, resolutions
// and availability changes, and customers reopening resolved conversations (which go back to
// their agent only when that agent is available and has room).

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

type Step =
  | { readonly _tag: "arrive" }
  | { readonly _tag: "resolve"; readonly pick: number }
  | { readonly _tag: "reopen"; readonly pick: number }
  | { readonly _tag: "toggle"; readonly member: number }
  | { readonly _tag: "capacity"; readonly member: number; readonly capacity: number }

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: fc.constant({ _tag: "arrive" as const }) },
  { weight: 2, arbitrary: fc.record({ _tag: fc.constant("resolve" as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ _tag: fc.constant("reopen" as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ _tag: fc.constant("toggle" as const), member: fc.nat(3) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      _tag: fc.constant("capacity" as const),
      member: fc.nat(3),
      capacity: fc.integer({ min: 0, max: 3 })
    })
  }
)

const memberArb = fc.record({ capacity: fc.integer({ min: 0, max: 3 }), online: fc.boolean() })

/** Open conversations per agent, and the ids waiting in the queue. */
const observe = async (hub: DialogiHub) => {
  const open = await hub.listConversations(
    { status: ["open", "waiting_on_customer", "snoozed"] },
    { limit: 500 }
  )
  const loads = new Map<string, number>()
  for (const c of open.items)
    if (c.assignee._tag === "agent") loads.set(c.assignee.id, (loads.get(c.assignee.id) ?? 0) + 1)
  const queue = (await hub.routing.queue("team", 1000)).map((e) => e.conversationId as string)
  return { open: open.items, loads, queue }
}

describe("routing through the hub (property)", () => {
  it("no agent above capacity, nothing lost from the queue, nobody idle while someone waits", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(memberArb, { minLength: 1, maxLength: 4 }),
        fc.array(stepArb, { maxLength: 20 }),
        fc.constantFrom("round_robin", "least_loaded", "skills"),
        async (members, steps, strategy) => {
          const store = await Effect.runPromise(MemoryStore.makeMemoryStore())
          const hub = await createHub({
            store,
            adapters: [createTestChannelAdapter({ channel: "chat" })],
            routing: { defaultTeam: "team" },
            log: () => {}
          })
          try {
            await hub.routing.upsertTeam({ id: "team", strategy })
            const capacity = members.map((m) => m.capacity)
            const online = members.map((m) => m.online)
            for (const [i, m] of members.entries())
              await hub.routing.upsertParticipant({
                id: `a${i}`,
                teams: ["team"],
                capacity: m.capacity,
                availability: m.online ? "online" : "offline"
              })
            const arrived: string[] = []
            const resolved = new Set<string>()
            const reopened = new Map<string, number>()
            /** Routing decisions about one conversation so far (kept, queued or assigned). */
            const decisions = async (id: string) =>
              (await hub.events.after(0, 5000)).filter(
                (e) =>
                  (e.body._tag === "routing.returned" ||
                    e.body._tag === "routing.queued" ||
                    e.body._tag === "conversation.assigned") &&
                  e.body.conversationId === id
              ).length
            let previous = new Map<string, number>()
            // Settled: every arrival placed, and the queue moved as far as the free room allows.
            const settle = async () => {
              for (let t = 0; ; t++) {
                const { open, loads, queue } = await observe(hub)
                const placed = open.filter((c) => c.assignee._tag === "agent").length + queue.length
                const room = members.some((_, i) => online[i] && (loads.get(`a${i}`) ?? 0) < capacity[i]!)
                if (placed >= arrived.length - resolved.size && (queue.length === 0 || !room)) return
                if (t > 300) throw new Error("routing did not settle")
                await sleep(5)
              }
            }
            for (const step of steps) {
              if (step._tag === "arrive") {
                const r = await hub.ingest({
                  channel: "chat",
                  providerMessageId: `m${arrived.length}`,
                  from: { address: `visitor-${arrived.length}` },
                  parts: [{ _tag: "text", text: "hi" }],
                  sentAt: Date.now()
                })
                arrived.push(r.conversationId)
              } else if (step._tag === "resolve") {
                const { open } = await observe(hub)
                const owned = open.filter((c) => c.assignee._tag === "agent")
                const target = owned[step.pick % Math.max(1, owned.length)]
                if (target) {
                  await hub.setStatus(target.id, "resolved")
                  resolved.add(target.id)
                }
              } else if (step._tag === "reopen") {
                const target = [...resolved][step.pick % Math.max(1, resolved.size)]
                if (target) {
                  const before = await decisions(target)
                  await hub.ingest({
                    channel: "chat",
                    providerMessageId: `m-reopen-${step.pick}-${reopened.size}-${target}`,
                    from: { address: `visitor-${arrived.indexOf(target)}` },
                    parts: [{ _tag: "text", text: "still broken" }],
                    sentAt: Date.now(),
                    threading: { conversationId: target }
                  })
                  resolved.delete(target)
                  reopened.set(target, (reopened.get(target) ?? 0) + 1)
                  // Routing of the reopened conversation has run once it decided something.
                  for (let t = 0; (await decisions(target)) === before; t++) {
                    if (t > 300) throw new Error("the reopened conversation was not routed")
                    await sleep(5)
                  }
                }
              } else if (step._tag === "toggle") {
                const i = step.member % members.length
                online[i] = !online[i]
                await hub.routing.setAvailability(`a${i}`, online[i] ? "online" : "offline")
              } else {
                const i = step.member % members.length
                capacity[i] = step.capacity
                await hub.routing.upsertParticipant({ id: `a${i}`, capacity: step.capacity })
              }
              // Nobody is above capacity, except someone whose capacity was just lowered under
              // what they held: routing then never gives them more.
              await settle()
              const { loads } = await observe(hub)
              for (const [id, load] of loads) {
                const i = Number(id.slice(1))
                expect(load <= capacity[i]! || load <= (previous.get(id) ?? 0)).toBe(true)
              }
              previous = loads
            }
            const { open, queue } = await observe(hub)
            const owned = open.filter((c) => c.assignee._tag === "agent").map((c) => c.id as string)
            // Every conversation that arrived and was not resolved is owned or waiting, never both.
            expect([...owned, ...queue].sort()).toEqual(arrived.filter((id) => !resolved.has(id)).sort())
            expect(owned.filter((id) => queue.includes(id))).toEqual([])
            // Nothing was routed twice: once per arrival, and at most once more per reopening.
            const assigned = (await hub.events.after(0, 5000))
              .map((e) => e.body)
              .filter((b) => b._tag === "conversation.assigned" && b.to._tag === "agent")
            const times = new Map<string, number>()
            for (const b of assigned) {
              const id = (b as { conversationId: string }).conversationId
              times.set(id, (times.get(id) ?? 0) + 1)
            }
            for (const [id, n] of times) expect(n).toBeLessThanOrEqual(1 + (reopened.get(id) ?? 0))
          } finally {
            await hub.close()
          }
        }
      ),
      { numRuns: 40 }
    )
  })
})
