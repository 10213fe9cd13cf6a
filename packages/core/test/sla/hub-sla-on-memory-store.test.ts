import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import {
  createHub,
  type DialogiEvent,
  type DialogiHub,
  MemoryStore,
  type SlaOptions,
  type StoreService
} from "../../src/index.js"
import { createTestChannelAdapter, type TestChannelAdapter } from "../../src/testing/index.js"

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const waitFor = async (check: () => Promise<boolean>, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not reached in time")
    await sleep(20)
  }
}

let sequence = 0
const envelope = (address: string, metadata: Record<string, unknown> = {}) => ({
  channel: "email",
  providerMessageId: `<m${++sequence}@example.com>`,
  from: { address },
  parts: [{ _tag: "text" as const, text: "Where is my order?" }],
  sentAt: Date.now(),
  metadata
})

const slaEvents = (events: ReadonlyArray<DialogiEvent>) =>
  events.filter((e) => e.body._tag.startsWith("sla.") && e.body._tag !== "sla.policy_changed")

const withHub = async (
  sla: SlaOptions,
  f: (ctx: { hub: DialogiHub; store: StoreService; email: TestChannelAdapter }) => Promise<void>,
  store?: StoreService
) => {
  const theStore = store ?? (await Effect.runPromise(MemoryStore.makeMemoryStore()))
  const email = createTestChannelAdapter({ channel: "email" })
  const hub = await createHub({ store: theStore, adapters: [email], sla, log: () => {} })
  try {
    await f({ hub, store: theStore, email })
  } finally {
    await hub.close()
  }
}

const deadline = (store: StoreService, key: string) =>
  Effect.runPromise(store.read((t) => t.getDeadline(key)))

describe("SLA on the hub (memory store)", () => {
  it("a note leaves the first-response clock running; a public reply stops it with sla.met", async () => {
    await withHub(
      {
        policies: [
          { id: "std", targets: { firstResponse: 60_000, nextResponse: 30_000, resolution: 3_600_000 } }
        ]
      },
      async ({ hub, store }) => {
        const { conversationId } = await hub.ingest(envelope("anna@example.com"))
        const expected = await hub.sla.expectedReply(conversationId)
        expect(expected).toMatchObject({ target: "first_response", policyId: "std", paused: false })
        expect(expected!.dueAt!.getTime() - Date.now()).toBeGreaterThan(55_000)

        await hub.note(conversationId, "customer is on the gold plan")
        expect(await hub.sla.expectedReply(conversationId)).toMatchObject({ target: "first_response" })
        expect(await deadline(store, `sla:${conversationId}:clock:first_response:due`)).toBeDefined()
        expect(slaEvents(await hub.events.after(0))).toEqual([])

        await hub.reply(conversationId, "It ships today.")
        const met = slaEvents(await hub.events.after(0))
        expect(met.map((e) => e.body)).toEqual([
          expect.objectContaining({ _tag: "sla.met", target: "first_response", policyId: "std" })
        ])
        expect(await hub.sla.expectedReply(conversationId)).toBeUndefined()
        expect(await deadline(store, `sla:${conversationId}:clock:first_response:due`)).toBeUndefined()
        expect(await deadline(store, `sla:${conversationId}:clock:resolution:due`)).toBeDefined()

        // The customer writes again: now the next-response clock runs.
        await hub.ingest(envelope("anna@example.com"))
        expect(await hub.sla.expectedReply(conversationId)).toMatchObject({ target: "next_response" })
      }
    )
  })

  it("waiting on the customer pauses the clocks and resuming moves the due time by the pause", async () => {
    await withHub(
      { policies: [{ id: "std", targets: { firstResponse: 60_000 } }] },
      async ({ hub, store }) => {
        const { conversationId } = await hub.ingest(envelope("bob@example.com"))
        const before = (await hub.sla.expectedReply(conversationId))!.dueAt!
        await hub.setStatus(conversationId, "waiting_on_customer")
        expect(await hub.sla.expectedReply(conversationId)).toMatchObject({ paused: true, dueAt: undefined })
        expect(await deadline(store, `sla:${conversationId}:clock:first_response:due`)).toBeUndefined()
        await sleep(400)
        await hub.setStatus(conversationId, "open")
        const after = (await hub.sla.expectedReply(conversationId))!.dueAt!
        expect(after.getTime() - before.getTime()).toBeGreaterThanOrEqual(380)
        // The one deadline of the clock is its warning (80% of the target), moved by the pause too.
        const armed = (await deadline(store, `sla:${conversationId}:clock:first_response:due`))!
        expect(armed.payload).toMatchObject({ phase: "warning", dueAt: after.getTime() })
        expect(after.getTime() - armed.dueAt.getTime()).toBe(12_000)
        // The customer's own message also resumes a paused clock.
        await hub.setStatus(conversationId, "snoozed")
        await hub.ingest(envelope("bob@example.com"))
        expect(await hub.sla.expectedReply(conversationId)).toMatchObject({ paused: false })
      }
    )
  })

  it("warning, then breach, fire once each and show up in the report", async () => {
    await withHub(
      { policies: [{ id: "fast", targets: { firstResponse: 300 }, warnAt: 0.5 }] },
      async ({ hub }) => {
        const { conversationId } = await hub.ingest(envelope("cecile@example.com"))
        await waitFor(async () => slaEvents(await hub.events.after(0)).length >= 2)
        await sleep(300)
        const events = slaEvents(await hub.events.after(0))
        expect(events.map((e) => e.body._tag)).toEqual(["sla.warning", "sla.breached"])
        expect(events[1]!.body).toMatchObject({ conversationId, target: "first_response", targetMs: 300 })
        expect(await hub.sla.expectedReply(conversationId)).toMatchObject({ breached: true })
        await hub.reply(conversationId, "Sorry for the wait")
        expect(slaEvents(await hub.events.after(0))).toHaveLength(2)
        const report = await hub.reports.sla({
          from: new Date(Date.now() - 60_000),
          to: new Date(Date.now() + 60_000),
          groupBy: "policy"
        })
        expect(report.rows).toEqual([
          expect.objectContaining({
            group: "fast",
            cycles: 1,
            breaches: 1,
            attainmentPct: 0,
            firstResponse: expect.objectContaining({ cycles: 1, breaches: 1 })
          })
        ])
        expect(report.rows[0]!.firstResponse.p50Ms).toBeGreaterThanOrEqual(300)
      }
    )
  })

  it("resolving meets the resolution target; reopening starts a new cycle", async () => {
    await withHub(
      { policies: [{ id: "std", targets: { resolution: 3_600_000 } }] },
      async ({ hub, store }) => {
        const { conversationId } = await hub.ingest(envelope("dan@example.com"))
        await hub.assign(conversationId, { _tag: "team", id: "billing" })
        await hub.setStatus(conversationId, "resolved")
        expect(slaEvents(await hub.events.after(0)).map((e) => e.body)).toEqual([
          expect.objectContaining({ _tag: "sla.met", target: "resolution" })
        ])
        expect(await deadline(store, `sla:${conversationId}:clock:resolution:due`)).toBeUndefined()
        await hub.setStatus(conversationId, "open")
        expect(await deadline(store, `sla:${conversationId}:clock:resolution:due`)).toBeDefined()
        const byTeam = await hub.reports.sla({
          from: new Date(Date.now() - 60_000),
          to: new Date(Date.now() + 60_000),
          groupBy: "team"
        })
        expect(byTeam.rows).toEqual([
          expect.objectContaining({ group: "billing", cycles: 1, breaches: 0, attainmentPct: 100 })
        ])
      }
    )
  })

  it("auto-acknowledges once per burst, in the customer's locale and zone, never an automated sender", async () => {
    const texts: string[] = []
    await withHub(
      {
        policies: [
          { id: "ack", targets: { firstResponse: 3_600_000, nextResponse: 3_600_000 }, autoAcknowledge: true }
        ],
        acknowledgement: (ctx) => {
          texts.push(`${ctx.locale} ${ctx.timeZone}`)
          return `We will answer by ${ctx.dueText}.`
        }
      },
      async ({ hub, email }) => {
        const first = await hub.ingest(envelope("eva@example.com"))
        await hub.ingest(envelope("eva@example.com"))
        await waitFor(async () => email.sent.length >= 1)
        await sleep(200)
        expect(email.sent).toHaveLength(1)
        expect(email.sent[0]!.parts).toEqual([
          { _tag: "text", text: expect.stringMatching(/^We will answer by /) }
        ])
        // The acknowledgement does not answer the customer: the clock still runs.
        expect(await hub.sla.expectedReply(first.conversationId)).toMatchObject({ target: "first_response" })
        expect(texts).toEqual(["en UTC"])

        // A new burst after a reply is acknowledged again.
        await hub.reply(first.conversationId, "Looking into it")
        await hub.ingest(envelope("eva@example.com"))
        await waitFor(async () => email.sent.length >= 3)

        // An out-of-office reply from someone else starts clocks but is never acknowledged.
        await hub.ingest(envelope("noreply@example.com", { automated: true }))
        await sleep(300)
        expect(email.sent.map((s) => s.to)).toEqual(["eva@example.com", "eva@example.com", "eva@example.com"])
      }
    )
  })

  it("a policy change is recorded once and applies to new clocks only", async () => {
    const store = await Effect.runPromise(MemoryStore.makeMemoryStore())
    let first = ""
    await withHub(
      { policies: [{ id: "std", targets: { firstResponse: 60_000 } }] },
      async ({ hub }) => {
        first = (await hub.ingest(envelope("fay@example.com"))).conversationId
      },
      store
    )
    // Same policy again: nothing new recorded.
    await withHub({ policies: [{ id: "std", targets: { firstResponse: 60_000 } }] }, async () => {}, store)
    await withHub(
      { policies: [{ id: "std", targets: { firstResponse: 600_000 } }] },
      async ({ hub }) => {
        const changes = (await hub.events.after(0)).filter((e) => e.body._tag === "sla.policy_changed")
        expect(changes).toHaveLength(2)
        const old = (await hub.sla.expectedReply(first))!.dueAt!.getTime()
        expect(old - Date.now()).toBeLessThan(60_000)
        const fresh = (await hub.ingest(envelope("gus@example.com"))).conversationId
        expect((await hub.sla.expectedReply(fresh))!.dueAt!.getTime() - Date.now()).toBeGreaterThan(590_000)
        // The old clock still stops under its own version.
        await hub.reply(first, "done")
        expect((await hub.events.after(0)).some((e) => e.body._tag === "sla.met")).toBe(true)
      },
      store
    )
  })

  it("the first matching policy wins: channel, priority, tags, contact attributes, host predicates", async () => {
    await withHub(
      {
        policies: [
          { id: "vip", match: { predicate: "vip" }, targets: { firstResponse: 1000 * 60 } },
          { id: "chat", match: { channels: ["chat"] }, targets: { firstResponse: 2000 * 60 } },
          { id: "rest", targets: { firstResponse: 3000 * 60 } }
        ],
        predicates: { vip: (ctx) => ctx.contact?.attributes.vip === true }
      },
      async ({ hub }) => {
        const { conversationId } = await hub.ingest(envelope("hal@example.com"))
        expect(await hub.sla.expectedReply(conversationId)).toMatchObject({ policyId: "rest" })
      }
    )
    await expect(
      withHub(
        { policies: [{ id: "x", match: { predicate: "missing" }, targets: { firstResponse: 1000 } }] },
        async () => {}
      )
    ).rejects.toMatchObject({ _tag: "InvalidInput" })
    await expect(
      withHub({ policies: [{ id: "x", targets: { firstResponse: -5 } }] }, async () => {})
    ).rejects.toMatchObject({ _tag: "InvalidInput" })
  })
})
