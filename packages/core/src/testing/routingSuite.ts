import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import type { DialogiEvent, EventBody } from "../domain/Event.js"
import { createHub, type DialogiHub } from "../facade/createHub.js"
import type { HookOptions } from "../hooks/Hook.js"
import type { RoutingOptions } from "../hub/routing/RoutingOptions.js"
import { Team } from "../routing/Participant.js"
import type { StoreService } from "../store/Store.js"
import { createTestChannelAdapter, type TestChannelAdapter } from "./TestChannelAdapter.js"

/** How the routing suite gets a store; with `restarts` (and `reopen`), the restart cases run too. */
export interface RoutingSuiteStores {
  /** The store keeps its data when closed and reopened. */
  readonly restarts?: boolean | undefined
  readonly make: () => Promise<{
    store: StoreService
    reopen?: () => Promise<StoreService>
    cleanup?: () => Promise<void>
  }>
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const waitFor = async (check: () => Promise<boolean>, timeoutMs = 15_000) => {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not reached in time")
    await sleep(25)
  }
}

type Tagged<T extends EventBody["_tag"]> = Extract<EventBody, { _tag: T }>
const bodies = async <T extends EventBody["_tag"]>(hub: DialogiHub, tag: T): Promise<Tagged<T>[]> =>
  (await hub.events.after(0, 5000))
    .map((e: DialogiEvent) => e.body)
    .filter((b): b is Tagged<T> => b._tag === tag)

interface Ctx {
  readonly hub: DialogiHub
  readonly sms: TestChannelAdapter
  readonly chat: TestChannelAdapter
  /** A voice-like channel: voicemails come in, no text goes out (as the phone adapter's voice). */
  readonly voice: TestChannelAdapter
  /** Closes this hub and opens another on the same data (stores with `reopen` only). */
  readonly restart: (routing?: RoutingOptions) => Promise<DialogiHub>
  /** The store under the first hub, for writing what the API refuses (data from older versions). */
  readonly store: StoreService
}

let counter = 0
/** One customer message; a new `from` makes a new contact and conversation. */
const write = async (hub: DialogiHub, from: string, text = "hello", channel = "sms") =>
  hub.ingest({
    channel,
    providerMessageId: `m${++counter}-${Date.now()}`,
    from: { address: from },
    parts: [{ _tag: "text", text }],
    sentAt: Date.now()
  })

const phone = (n: number) => `+35840${String(1_000_000 + n)}`

/**
 * Routing, handoff and callback behaviour (issue "Routing and handoff") on a given store:
 * rules and strategies, queues and capacity, overflow, handoffs with their context,
 * callbacks, visibility, and with a durable store, restarts.
 */
export const routingSuite = (name: string, stores: RoutingSuiteStores): void => {
  describe(`routing on ${name}`, () => {
    const withHub = async (
      routing: RoutingOptions,
      f: (ctx: Ctx) => Promise<void>,
      hooks: HookOptions = {}
    ) => {
      const made = await stores.make()
      const sms = createTestChannelAdapter({ channel: "sms", capabilities: { maxTextLength: 1600 } })
      const chat = createTestChannelAdapter({
        channel: "chat",
        capabilities: { replyWindowSeconds: 3600, canInitiate: false }
      })
      const voice = createTestChannelAdapter({
        channel: "voice",
        capabilities: { text: false, canInitiate: false }
      })
      const open = (store: StoreService, r: RoutingOptions) =>
        createHub({
          store,
          adapters: [sms, chat, voice],
          defaultRegion: "FI",
          sendRetryDelayMs: 20,
          routing: r,
          hooks,
          log: () => {}
        })
      let hub = await open(made.store, routing)
      const restart = async (r: RoutingOptions = routing) => {
        if (!made.reopen) throw new Error("store cannot reopen")
        await hub.close()
        hub = await open(await made.reopen(), r)
        ctx.hub = hub
        return hub
      }
      const ctx = { hub, sms, chat, voice, restart, store: made.store }
      try {
        await f(ctx)
      } finally {
        await ctx.hub.close()
        await made.cleanup?.()
      }
    }

    it("rules pick the team by channel; round robin spreads a team's conversations evenly", async () => {
      await withHub(
        { rules: [{ match: { channels: ["chat"] }, team: "web" }], defaultTeam: "phone" },
        async ({ hub }) => {
          await hub.routing.upsertTeam({ id: "phone", strategy: "round_robin" })
          await hub.routing.upsertTeam({ id: "web" })
          for (const id of ["p1", "p2", "p3"])
            await hub.routing.upsertParticipant({
              id,
              teams: ["phone"],
              capacity: 10,
              availability: "online"
            })
          await hub.routing.upsertParticipant({
            id: "w1",
            teams: ["web"],
            capacity: 10,
            availability: "online"
          })
          const sms = []
          for (let i = 0; i < 9; i++) sms.push(await write(hub, phone(i)))
          const web = await write(hub, "visitor-1", "hi", "chat")
          await waitFor(async () => (await bodies(hub, "conversation.assigned")).length >= 10)
          const owners = await Promise.all(
            sms.map(async (r) => (await hub.thread(r.conversationId)).conversation.assignee)
          )
          const counts = new Map<string, number>()
          for (const o of owners) if (o._tag === "agent") counts.set(o.id, (counts.get(o.id) ?? 0) + 1)
          expect([...counts.entries()].sort()).toEqual([
            ["p1", 3],
            ["p2", 3],
            ["p3", 3]
          ])
          expect((await hub.thread(web.conversationId)).conversation.assignee).toEqual({
            _tag: "agent",
            id: "w1"
          })
        }
      )
    })

    it("nobody available: conversations wait in the team queue in order, never above capacity, and move when room appears", async () => {
      await withHub({ defaultTeam: "support" }, async ({ hub }) => {
        await hub.routing.upsertTeam({ id: "support", strategy: "least_loaded" })
        await hub.routing.upsertParticipant({
          id: "a1",
          teams: ["support"],
          capacity: 2,
          availability: "offline"
        })
        const received = []
        for (let i = 0; i < 5; i++) received.push(await write(hub, phone(100 + i)))
        await waitFor(async () => (await bodies(hub, "routing.queued")).length === 5)
        expect((await hub.routing.queue("support")).map((e) => e.conversationId)).toEqual(
          received.map((r) => r.conversationId)
        )
        for (const r of received)
          expect((await hub.thread(r.conversationId)).conversation.assignee).toEqual({
            _tag: "team",
            id: "support"
          })

        await hub.routing.setAvailability("a1", "online")
        await waitFor(async () => (await hub.routing.queue("support")).length === 3)
        const first = await hub.listConversations({ assignee: { _tag: "agent", id: "a1" } })
        expect(first.items.map((c) => c.id).sort()).toEqual(
          received
            .slice(0, 2)
            .map((r) => r.conversationId)
            .sort()
        )

        // Resolving one frees a slot: the next in line moves up, the rest keep waiting.
        await hub.setStatus(received[0]!.conversationId, "resolved")
        await waitFor(async () => (await hub.routing.queue("support")).length === 2)
        const open = await hub.listConversations({ assignee: { _tag: "agent", id: "a1" }, status: "open" })
        expect(open.items.map((c) => c.id).sort()).toEqual(
          [received[1]!.conversationId, received[2]!.conversationId].sort()
        )
        expect((await hub.routing.queue("support")).map((e) => e.conversationId)).toEqual(
          received.slice(3).map((r) => r.conversationId)
        )
      })
    })

    it("outside working hours an online agent gets nothing; without the calendar they get the queue", async () => {
      await withHub({ defaultTeam: "support" }, async ({ hub }) => {
        await hub.routing.upsertTeam({ id: "support" })
        // Open one minute a week on a holiday: closed now.
        const closed = { timeZone: "UTC", weekly: {}, holidays: [] }
        await hub.routing.upsertParticipant({
          id: "a1",
          teams: ["support"],
          capacity: 3,
          availability: "online",
          calendar: closed
        })
        expect((await hub.routing.participant("a1")).calendar?.timeZone).toBe("UTC")
        const r = await write(hub, phone(250))
        await waitFor(async () => (await bodies(hub, "routing.queued")).length === 1)
        await hub.routing.upsertParticipant({ id: "a1", calendar: null })
        await waitFor(async () => (await hub.thread(r.conversationId)).conversation.assignee._tag === "agent")
        expect(await hub.routing.queue("support")).toEqual([])
      })
    })

    it("assigning to a team by hand places the conversation with the team's strategy", async () => {
      await withHub({}, async ({ hub }) => {
        await hub.routing.upsertTeam({ id: "billing" })
        await hub.routing.upsertParticipant({
          id: "b1",
          teams: ["billing"],
          capacity: 2,
          availability: "online"
        })
        const r = await write(hub, phone(260))
        await hub.assign(r.conversationId, { _tag: "team", id: "billing" })
        await waitFor(async () => (await hub.thread(r.conversationId)).conversation.assignee._tag === "agent")
        expect((await hub.thread(r.conversationId)).conversation.assignee).toEqual({
          _tag: "agent",
          id: "b1"
        })
      })
    })

    it("a waiting conversation resolved leaves the queue; reopened by the customer it waits again", async () => {
      await withHub({ defaultTeam: "support" }, async ({ hub }) => {
        await hub.routing.upsertTeam({ id: "support" })
        const r = await write(hub, phone(270))
        await waitFor(async () => (await hub.routing.queue("support")).length === 1)
        await hub.setStatus(r.conversationId, "resolved")
        expect(await hub.routing.queue("support")).toEqual([])
        await hub.ingest({
          channel: "sms",
          providerMessageId: `reopen-${Date.now()}`,
          from: { address: phone(270) },
          parts: [{ _tag: "text", text: "it happened again" }],
          sentAt: Date.now(),
          threading: { conversationId: r.conversationId }
        })
        await waitFor(async () => (await hub.routing.queue("support")).length === 1)
        expect((await hub.routing.queue("support"))[0]!.conversationId).toBe(r.conversationId)
      })
    })

    it("a reopened conversation goes back to its agent only when they are available and have room; else it waits in the team queue", async () => {
      await withHub({ defaultTeam: "support" }, async ({ hub }) => {
        await hub.routing.upsertTeam({ id: "support" })
        await hub.routing.upsertParticipant({
          id: "a1",
          teams: ["support"],
          capacity: 1,
          availability: "online"
        })
        const reopen = (n: number, id: string) =>
          hub.ingest({
            channel: "sms",
            providerMessageId: `reopen-${n}-${Date.now()}`,
            from: { address: phone(280) },
            parts: [{ _tag: "text", text: `again ${n}` }],
            sentAt: Date.now(),
            threading: { conversationId: id }
          })
        const ownerOf = async (id: string) => (await hub.thread(id)).conversation.assignee
        const r = await write(hub, phone(280))
        await waitFor(async () => (await ownerOf(r.conversationId))._tag === "agent")

        // Available, and room once this conversation is counted: it stays with a1.
        await hub.setStatus(r.conversationId, "resolved")
        await reopen(1, r.conversationId)
        await waitFor(async () => (await bodies(hub, "routing.returned")).length === 1)
        expect(await bodies(hub, "routing.returned")).toEqual([
          { _tag: "routing.returned", conversationId: r.conversationId, participantId: "a1" }
        ])
        expect(await ownerOf(r.conversationId)).toEqual({ _tag: "agent", id: "a1" })

        // Away: it waits in the team queue instead, and a1 gets it back on return.
        await hub.setStatus(r.conversationId, "resolved")
        await hub.routing.setAvailability("a1", "away")
        await reopen(2, r.conversationId)
        await waitFor(async () => (await hub.routing.queue("support")).length === 1)
        expect(await ownerOf(r.conversationId)).toEqual({ _tag: "team", id: "support" })
        await hub.routing.setAvailability("a1", "online")
        await waitFor(async () => (await ownerOf(r.conversationId))._tag === "agent")

        // Full (another conversation took the slot meanwhile): never above capacity, it waits.
        await hub.setStatus(r.conversationId, "resolved")
        const other = await write(hub, phone(281))
        await waitFor(async () => (await ownerOf(other.conversationId))._tag === "agent")
        await reopen(3, r.conversationId)
        await waitFor(async () => (await hub.routing.queue("support")).length === 1)
        expect(await ownerOf(r.conversationId)).toEqual({ _tag: "team", id: "support" })
        const open = await hub.listConversations({ assignee: { _tag: "agent", id: "a1" }, status: "open" })
        expect(open.items.map((c) => c.id)).toEqual([other.conversationId])
        expect(await bodies(hub, "routing.returned")).toHaveLength(1)
      })
    })

    it("a new priority moves a waiting conversation to its place in the queue (priority, then waiting time)", async () => {
      // A hook raises the priority of conversations whose customer writes "urgent".
      const urgent: HookOptions = {
        ingest: [
          {
            name: "urgent",
            run: (m) =>
              m.parts.some((p) => p._tag === "text" && p.text.includes("urgent"))
                ? { _tag: "continue" as const, priority: "urgent" as const }
                : m.parts.some((p) => p._tag === "text" && p.text.includes("calm"))
                  ? { _tag: "continue" as const, priority: "low" as const }
                  : undefined
          }
        ]
      }
      await withHub(
        { defaultTeam: "support" },
        async ({ hub }) => {
          await hub.routing.upsertTeam({ id: "support" })
          await hub.routing.upsertParticipant({
            id: "a1",
            teams: ["support"],
            capacity: 1,
            availability: "offline"
          })
          const received = []
          for (let i = 0; i < 4; i++) received.push((await write(hub, phone(290 + i))).conversationId)
          const queue = async () => (await hub.routing.queue("support")).map((e) => e.conversationId)
          await waitFor(async () => (await queue()).length === 4)
          expect(await queue()).toEqual(received)

          // The third and fourth customers say it is urgent: they move ahead of the first two,
          // in the order they were waiting; the first goes to the back once it is low.
          await write(hub, phone(293), "this is urgent")
          await write(hub, phone(292), "urgent, really")
          await write(hub, phone(290), "take your time, I am calm")
          const [first, second, third, fourth] = received as ReadonlyArray<string> as [
            string,
            string,
            string,
            string
          ]
          await waitFor(async () => (await queue())[3] === first)
          expect(await queue()).toEqual([third, fourth, second, first])
          expect((await hub.routing.queue("support")).map((e) => e.priority)).toEqual([
            "urgent",
            "urgent",
            "normal",
            "low"
          ])

          // The one free slot goes to the head of the re-sorted queue.
          await hub.routing.setAvailability("a1", "online")
          await waitFor(async () => (await queue()).length === 3)
          expect((await hub.thread(third)).conversation.assignee).toEqual({ _tag: "agent", id: "a1" })
          expect(await queue()).toEqual([fourth, second, first])
        },
        urgent
      )
    })

    it("a waiting conversation overflows to the fallback team after the configured wait", async () => {
      await withHub({ defaultTeam: "tier1" }, async ({ hub }) => {
        await hub.routing.upsertTeam({ id: "tier2" })
        await hub.routing.upsertTeam({ id: "tier1", overflow: { afterMs: 400, toTeam: "tier2" } })
        await hub.routing.upsertParticipant({
          id: "senior",
          teams: ["tier2"],
          capacity: 3,
          availability: "online"
        })
        const started = Date.now()
        const r = await write(hub, phone(200))
        await waitFor(async () => (await bodies(hub, "routing.overflowed")).length === 1)
        expect(Date.now() - started).toBeGreaterThanOrEqual(350)
        await waitFor(async () => (await hub.thread(r.conversationId)).conversation.assignee._tag === "agent")
        expect((await hub.thread(r.conversationId)).conversation.assignee).toEqual({
          _tag: "agent",
          id: "senior"
        })
        expect(await bodies(hub, "routing.overflowed")).toEqual([
          { _tag: "routing.overflowed", conversationId: r.conversationId, fromTeam: "tier1", toTeam: "tier2" }
        ])
        expect(await hub.routing.queue("tier1")).toEqual([])
      })
    })

    it("an overflow loop is refused when configured: OverflowLoop names it and nothing changes", async () => {
      await withHub({}, async ({ hub }) => {
        await hub.routing.upsertTeam({ id: "tier3" })
        await hub.routing.upsertTeam({ id: "tier2", overflow: { afterMs: 1000, toTeam: "tier3" } })
        await hub.routing.upsertTeam({ id: "tier1", overflow: { afterMs: 1000, toTeam: "tier2" } })
        await expect(
          hub.routing.upsertTeam({ id: "tier3", overflow: { afterMs: 1000, toTeam: "tier1" } })
        ).rejects.toMatchObject({ _tag: "OverflowLoop", teams: ["tier3", "tier1", "tier2", "tier3"] })
        await expect(
          hub.routing.upsertTeam({ id: "tier2", overflow: { afterMs: 1000, toTeam: "tier1" } })
        ).rejects.toMatchObject({ _tag: "OverflowLoop", teams: ["tier2", "tier1", "tier2"] })
        const overflowOf = async (id: string) =>
          (await hub.routing.teams()).find((t) => t.id === id)?.overflow?.toTeam
        expect(await overflowOf("tier3")).toBeUndefined()
        expect(await overflowOf("tier2")).toBe("tier3")
        // Breaking the chain first makes the same overflow fine.
        await hub.routing.upsertTeam({ id: "tier1", overflow: null })
        expect(
          (await hub.routing.upsertTeam({ id: "tier3", overflow: { afterMs: 1000, toTeam: "tier1" } }))
            .overflow?.toTeam
        ).toBe("tier1")
      })
    })

    it("an overflow loop already stored stops at runtime: the conversation visits each team once and stays in the last queue, with an event saying why", async () => {
      await withHub({ defaultTeam: "day" }, async ({ hub, store }) => {
        // Written past the API, as data from before loops were refused would be.
        const now = new Date()
        await Effect.runPromise(
          store.transaction((t) =>
            Effect.gen(function* () {
              yield* t.routing.upsertTeam(
                new Team({
                  id: "day",
                  name: "day",
                  strategy: "round_robin",
                  overflow: { afterMs: 250, toTeam: "night" },
                  updatedAt: now
                })
              )
              yield* t.routing.upsertTeam(
                new Team({
                  id: "night",
                  name: "night",
                  strategy: "round_robin",
                  overflow: { afterMs: 250, toTeam: "day" },
                  updatedAt: now
                })
              )
            })
          )
        )
        const r = await write(hub, phone(210))
        await waitFor(async () => (await bodies(hub, "routing.overflow_stopped")).length === 1)
        // Three more overflow periods: nothing moves any more.
        await sleep(750)
        expect(await bodies(hub, "routing.overflowed")).toEqual([
          { _tag: "routing.overflowed", conversationId: r.conversationId, fromTeam: "day", toTeam: "night" }
        ])
        expect(await bodies(hub, "routing.overflow_stopped")).toEqual([
          {
            _tag: "routing.overflow_stopped",
            conversationId: r.conversationId,
            fromTeam: "night",
            toTeam: "day",
            reason: "overflow loop: day -> night -> day"
          }
        ])
        expect((await hub.routing.queue("night")).map((e) => e.conversationId)).toEqual([r.conversationId])
        expect(await hub.routing.queue("day")).toEqual([])
        expect((await hub.thread(r.conversationId)).conversation.assignee).toEqual({
          _tag: "team",
          id: "night"
        })
      })
    })

    it("bot to human: the handoff carries note and transcript; one accept wins, the rest get HandoffNotPending", async () => {
      await withHub({ defaultTeam: "bots" }, async ({ hub }) => {
        await hub.routing.upsertTeam({ id: "bots" })
        await hub.routing.upsertTeam({ id: "humans" })
        await hub.routing.upsertParticipant({
          id: "bot",
          kind: "bot",
          teams: ["bots"],
          capacity: 1000,
          availability: "online"
        })
        for (let i = 0; i < 20; i++)
          await hub.routing.upsertParticipant({
            id: `h${i}`,
            teams: ["humans"],
            capacity: 5,
            availability: "online"
          })
        await hub.routing.upsertParticipant({
          id: "outsider",
          teams: [],
          capacity: 5,
          availability: "online"
        })
        const r = await write(hub, phone(300), "my invoice is wrong")
        await waitFor(async () => (await hub.thread(r.conversationId)).conversation.assignee._tag === "bot")
        await hub.reply(r.conversationId, "I can help with invoices. What is the number?", {
          author: { _tag: "bot", id: "bot" }
        })
        await write(hub, phone(300), "I want a human")
        const handoff = await hub.handoff(r.conversationId, {
          to: { _tag: "team", id: "humans" },
          reason: "customer asked for a human",
          note: "invoice dispute, number not given yet",
          by: "bot"
        })
        expect(handoff.state).toBe("requested")
        expect(handoff.from).toEqual({ _tag: "bot", id: "bot" })
        expect(handoff.summary.map((e) => [e.direction, e.author, e.text])).toEqual([
          ["inbound", "contact", "my invoice is wrong"],
          ["outbound", "bot:bot", "I can help with invoices. What is the number?"],
          ["inbound", "contact", "I want a human"]
        ])
        await expect(
          hub.handoff(r.conversationId, { to: { _tag: "team", id: "humans" }, reason: "again" })
        ).rejects.toMatchObject({
          _tag: "HandoffAlreadyPending"
        })
        await expect(hub.handoffs.accept(handoff.id, "outsider")).rejects.toMatchObject({
          _tag: "NotPermitted"
        })

        const outcomes = await Promise.allSettled(
          Array.from({ length: 20 }, (_, i) => hub.handoffs.accept(handoff.id, `h${i}`))
        )
        const won = outcomes.filter((o) => o.status === "fulfilled")
        expect(won).toHaveLength(1)
        for (const o of outcomes)
          if (o.status === "rejected")
            expect(o.reason).toMatchObject({ _tag: "HandoffNotPending", state: "accepted" })
        const winner = (won[0] as PromiseFulfilledResult<{ decidedBy?: string }>).value.decidedBy!
        expect((await hub.thread(r.conversationId)).conversation.assignee).toEqual({
          _tag: "agent",
          id: winner
        })
        expect(await bodies(hub, "handoff.accepted")).toEqual([
          { _tag: "handoff.accepted", conversationId: r.conversationId, handoffId: handoff.id, by: winner }
        ])
        const requested = await bodies(hub, "handoff.requested")
        expect(requested[0]).toMatchObject({
          note: "invoice dispute, number not given yet",
          reason: "customer asked for a human"
        })
        expect((await hub.handoffs.get(handoff.id)).state).toBe("accepted")
      })
    })

    it("a declined handoff is routed again without the one who declined; capacity is checked on accept", async () => {
      await withHub({ defaultTeam: "support" }, async ({ hub }) => {
        await hub.routing.upsertTeam({ id: "support" })
        await hub.routing.upsertParticipant({
          id: "a1",
          teams: ["support"],
          capacity: 1,
          availability: "online"
        })
        await hub.routing.upsertParticipant({
          id: "a2",
          teams: ["support"],
          capacity: 1,
          availability: "online"
        })
        const one = await write(hub, phone(400))
        const two = await write(hub, phone(401))
        await waitFor(
          async () =>
            (await hub.routing.participants()).length === 2 &&
            (await bodies(hub, "conversation.assigned")).length === 2
        )
        const ownerOf = async (id: string) => (await hub.thread(id)).conversation.assignee
        const firstOwner = (await ownerOf(one.conversationId)) as { id: string }
        const other = firstOwner.id === "a1" ? "a2" : "a1"
        // The other agent is full: accepting would exceed their capacity.
        const h1 = await hub.handoff(one.conversationId, {
          to: { _tag: "agent", id: other },
          reason: "language"
        })
        await expect(hub.handoffs.accept(h1.id, other)).rejects.toMatchObject({
          _tag: "AtCapacity",
          capacity: 1,
          load: 1
        })
        const declined = await hub.handoffs.decline(h1.id, other, "full")
        expect(declined.state).toBe("declined")
        expect(await bodies(hub, "handoff.declined")).toEqual([
          {
            _tag: "handoff.declined",
            conversationId: one.conversationId,
            handoffId: h1.id,
            by: other,
            reason: "full"
          }
        ])
        // Re-routed within its team; the decliner is excluded, so it stays with its owner.
        expect(await ownerOf(one.conversationId)).toEqual({ _tag: "agent", id: firstOwner.id })
        await expect(hub.handoffs.accept(h1.id, other)).rejects.toMatchObject({
          _tag: "HandoffNotPending",
          state: "declined"
        })
        expect(two.conversationId).not.toBe(one.conversationId)
      })
    })

    it("callbacks: due at the window start, missed after its end, a new window offered on the customer's last channel", async () => {
      await withHub({}, async ({ hub, sms }) => {
        const r = await write(hub, phone(500), "please call me")
        const from = new Date(Date.now() + 300)
        const callback = await hub.callbacks.schedule(r.conversationId, {
          window: { from, to: new Date(from.getTime() + 400) },
          phone: "040 1000500",
          note: "wants to talk about the contract"
        })
        expect(callback.phone).toBe(phone(500))
        expect(callback.state).toBe("scheduled")
        await waitFor(async () => (await hub.callbacks.get(callback.id)).state === "due")
        expect(Date.now()).toBeGreaterThanOrEqual(from.getTime())
        await waitFor(async () => (await hub.callbacks.get(callback.id)).state === "rebook_offered")
        const done = await hub.callbacks.get(callback.id)
        await waitFor(async () => sms.sent.length === 1)
        expect(sms.sent[0]!.to).toBe(phone(500))
        expect(done.rebookMessageId).toBeDefined()
        const tags = (await hub.events.after(0, 5000))
          .map((e) => e.body._tag)
          .filter((t) => t.startsWith("callback."))
        expect(tags).toEqual([
          "callback.scheduled",
          "callback.due",
          "callback.missed",
          "callback.rebook_offered"
        ])
        await expect(hub.callbacks.start(callback.id, "nobody")).rejects.toMatchObject({
          _tag: "RoutingNotFound"
        })
      })
    })

    /** A voicemail from `from`, claiming the given identities as the phone adapter does. */
    const voicemail = async (
      hub: DialogiHub,
      from: string,
      claims: ReadonlyArray<{ channel: string; address: string; verified: boolean }>
    ) =>
      hub.ingest({
        channel: "voice",
        providerMessageId: `vm${++counter}-${Date.now()}`,
        from: { address: from, verified: true },
        claims,
        parts: [{ _tag: "text", text: "voicemail: please call me back" }],
        sentAt: Date.now()
      })
    const missNow = async (hub: DialogiHub, conversationId: string, number: string) => {
      const from = Date.now() + 60_000
      const callback = await hub.callbacks.schedule(conversationId, {
        window: { from: new Date(from), to: new Date(from + 60_000) },
        phone: number
      })
      return hub.callbacks.miss(callback.id, "the customer did not answer")
    }

    it("callbacks: after a voicemail the new-window offer goes by SMS to the callback's number", async () => {
      await withHub({}, async ({ hub, sms, chat, voice }) => {
        const r = await voicemail(hub, phone(510), [{ channel: "sms", address: phone(510), verified: true }])
        expect((await hub.thread(r.conversationId)).conversation.lastInboundChannel).toBe("voice")
        const missed = await missNow(hub, r.conversationId, phone(510))
        expect(missed.state).toBe("rebook_offered")
        await waitFor(async () => sms.sent.length === 1)
        expect(sms.sent[0]!.to).toBe(phone(510))
        expect(voice.attempts).toEqual([])
        expect(chat.attempts).toEqual([])
        const [offered] = await bodies(hub, "callback.rebook_offered")
        expect(offered).toMatchObject({ channel: "sms", messageId: missed.rebookMessageId })
        const [missedEvent] = await bodies(hub, "callback.missed")
        expect(missedEvent!.reason).toBe("the customer did not answer")
        expect(missedEvent!.offerRefused).toBeUndefined()
      })
    })

    it("callbacks: after a voicemail with no SMS identity the offer goes to the next reachable channel", async () => {
      await withHub({}, async ({ hub, sms, chat, voice }) => {
        const visitor = "visitor-511"
        const first = await hub.ingest({
          channel: "chat",
          providerMessageId: `c${++counter}-${Date.now()}`,
          from: { address: visitor, verified: true },
          claims: [{ channel: "voice", address: phone(511), verified: true }],
          parts: [{ _tag: "text", text: "I will leave you a voicemail" }],
          sentAt: Date.now()
        })
        const r = await voicemail(hub, phone(511), [])
        expect(r.conversationId).toBe(first.conversationId)
        expect((await hub.thread(r.conversationId)).conversation.lastInboundChannel).toBe("voice")
        const missed = await missNow(hub, r.conversationId, phone(511))
        expect(missed.state).toBe("rebook_offered")
        await waitFor(async () => chat.sent.length === 1)
        expect(chat.sent[0]!.to).toBe(visitor)
        expect(sms.attempts).toEqual([])
        expect(voice.attempts).toEqual([])
        const [offered] = await bodies(hub, "callback.rebook_offered")
        expect(offered!.channel).toBe("chat")
      })
    })

    it("callbacks: when no channel of the contact can carry the offer it stays missed and the event says why", async () => {
      await withHub({}, async ({ hub, sms, voice }) => {
        const r = await voicemail(hub, phone(512), [])
        const missed = await missNow(hub, r.conversationId, phone(512))
        expect(missed.state).toBe("missed")
        expect((await hub.callbacks.get(missed.id)).state).toBe("missed")
        expect(missed.rebookMessageId).toBeUndefined()
        const [missedEvent] = await bodies(hub, "callback.missed")
        expect(missedEvent).toMatchObject({
          callbackId: missed.id,
          reason: "the customer did not answer",
          offerRefused: "voice: CapabilityMissing text"
        })
        expect(await bodies(hub, "callback.rebook_offered")).toEqual([])
        expect(await bodies(hub, "message.queued")).toEqual([])
        expect(sms.attempts).toEqual([])
        expect(voice.attempts).toEqual([])
      })
    })

    it("callbacks: an agent starts and completes the call; moves out of order are refused", async () => {
      await withHub({}, async ({ hub }) => {
        await hub.routing.upsertTeam({ id: "support" })
        await hub.routing.upsertParticipant({
          id: "a1",
          teams: ["support"],
          capacity: 3,
          availability: "online"
        })
        const r = await write(hub, phone(600))
        await expect(
          hub.callbacks.schedule(r.conversationId, {
            window: { from: Date.now() + 1000, to: Date.now() + 500 },
            phone: phone(600)
          })
        ).rejects.toMatchObject({ _tag: "InvalidInput" })
        const callback = await hub.callbacks.schedule(r.conversationId, {
          window: {
            from: new Date(Date.now() + 100).toISOString(),
            to: new Date(Date.now() + 60_000).toISOString()
          },
          phone: phone(600)
        })
        await expect(hub.callbacks.complete(callback.id)).rejects.toMatchObject({
          _tag: "CallbackStateConflict",
          from: "scheduled",
          to: "completed"
        })
        await waitFor(async () => (await hub.callbacks.get(callback.id)).state === "due")
        expect((await hub.callbacks.start(callback.id, "a1")).state).toBe("in_progress")
        expect((await hub.callbacks.complete(callback.id)).state).toBe("completed")
        expect((await hub.callbacks.list(r.conversationId)).map((c) => c.state)).toEqual(["completed"])
      })
    })

    it("visibility: agents see their teams' conversations and their own, admins see all", async () => {
      await withHub(
        { rules: [{ match: { channels: ["chat"] }, team: "web" }], defaultTeam: "phone" },
        async ({ hub }) => {
          await hub.routing.upsertTeam({ id: "phone" })
          await hub.routing.upsertTeam({ id: "web" })
          await hub.routing.upsertParticipant({
            id: "p1",
            teams: ["phone"],
            capacity: 0,
            availability: "online"
          })
          await hub.routing.upsertParticipant({
            id: "w1",
            teams: ["web"],
            capacity: 0,
            availability: "online"
          })
          await hub.routing.upsertParticipant({ id: "boss", role: "admin", capacity: 0 })
          const bySms = await write(hub, phone(700))
          const byChat = await write(hub, "visitor-7", "hi", "chat")
          await waitFor(async () => (await bodies(hub, "routing.queued")).length === 2)
          const ids = async (as: string) =>
            (await hub.listConversations({ visibleTo: as })).items.map((c) => c.id)
          expect(await ids("p1")).toEqual([bySms.conversationId])
          expect(await ids("w1")).toEqual([byChat.conversationId])
          expect((await ids("boss")).sort()).toEqual([bySms.conversationId, byChat.conversationId].sort())
          expect(await ids("stranger")).toEqual([])
          await expect(hub.thread(byChat.conversationId, { as: "p1" })).rejects.toMatchObject({
            _tag: "NotPermitted"
          })
          expect((await hub.thread(byChat.conversationId, { as: "w1" })).conversation.id).toBe(
            byChat.conversationId
          )
        }
      )
    })

    it.skipIf(!stores.restarts)("a restart loses no queued conversation and routes none twice", async () => {
      await withHub({ defaultTeam: "support" }, async (ctx) => {
        await ctx.hub.routing.upsertTeam({ id: "support" })
        await ctx.hub.routing.upsertParticipant({
          id: "a1",
          teams: ["support"],
          capacity: 4,
          availability: "offline"
        })
        await ctx.hub.routing.upsertParticipant({
          id: "a2",
          teams: ["support"],
          capacity: 4,
          availability: "offline"
        })
        const received = []
        for (let i = 0; i < 12; i++) received.push(await write(ctx.hub, phone(800 + i)))
        await waitFor(async () => (await bodies(ctx.hub, "routing.queued")).length === 12)
        let hub = await ctx.restart()
        expect((await hub.routing.queue("support")).map((e) => e.conversationId)).toEqual(
          received.map((r) => r.conversationId)
        )
        await hub.routing.setAvailability("a1", "online")
        await hub.routing.setAvailability("a2", "online")
        await waitFor(async () => (await hub.routing.queue("support")).length === 4)
        hub = await ctx.restart()
        expect((await hub.routing.queue("support")).map((e) => e.conversationId)).toEqual(
          received.slice(8).map((r) => r.conversationId)
        )
        await hub.routing.upsertParticipant({ id: "a2", capacity: 8 })
        await waitFor(async () => (await hub.routing.queue("support")).length === 0)
        const toAgents = (await bodies(hub, "conversation.assigned")).filter((b) => b.to._tag === "agent")
        expect(toAgents.map((b) => b.conversationId).sort()).toEqual(
          received.map((r) => r.conversationId).sort()
        )
        const loads = new Map<string, number>()
        for (const b of toAgents) if (b.to._tag === "agent") loads.set(b.to.id, (loads.get(b.to.id) ?? 0) + 1)
        expect(loads.get("a1")).toBe(4)
        expect(loads.get("a2")).toBe(8)
      })
    })

    it.skipIf(!stores.restarts)(
      "a handoff nobody accepts expires after its deadline across a restart and is routed again",
      async () => {
        await withHub({ defaultTeam: "bots" }, async (ctx) => {
          await ctx.hub.routing.upsertTeam({ id: "bots" })
          await ctx.hub.routing.upsertTeam({ id: "humans" })
          await ctx.hub.routing.upsertParticipant({
            id: "bot",
            kind: "bot",
            teams: ["bots"],
            capacity: 100,
            availability: "online"
          })
          await ctx.hub.routing.upsertParticipant({
            id: "h1",
            teams: ["humans"],
            capacity: 3,
            availability: "online"
          })
          const r = await write(ctx.hub, phone(900), "human please")
          await waitFor(
            async () => (await ctx.hub.thread(r.conversationId)).conversation.assignee._tag === "bot"
          )
          const handoff = await ctx.hub.handoff(r.conversationId, {
            to: { _tag: "team", id: "humans" },
            reason: "customer asked for a human",
            acceptWithinMs: 1200
          })
          // Down before the deadline, back after it.
          await ctx.hub.close()
          await sleep(Math.max(0, handoff.expiresAt.getTime() - Date.now()) + 300)
          const hub = await ctx.restart()
          await waitFor(async () => (await hub.handoffs.get(handoff.id)).state === "expired", 10_000)
          await waitFor(
            async () => (await hub.thread(r.conversationId)).conversation.assignee._tag === "agent"
          )
          expect((await hub.thread(r.conversationId)).conversation.assignee).toEqual({
            _tag: "agent",
            id: "h1"
          })
          expect(await bodies(hub, "handoff.expired")).toEqual([
            { _tag: "handoff.expired", conversationId: r.conversationId, handoffId: handoff.id }
          ])
          expect(await bodies(hub, "handoff.accepted")).toEqual([])
        })
      }
    )
  })
}
