import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import {
  createHub,
  type DialogiEvent,
  type DialogiHub,
  type HubOptions,
  MemoryStore,
  type MessagePart,
  redactCardNumbers,
  type StoreService
} from "@dialogi/core"
import { createTestChannelAdapter, type TestChannelAdapter } from "@dialogi/core/testing"
import { PGlite } from "@electric-sql/pglite"
import { Effect } from "effect"
import pg from "pg"
import { afterEach, describe, expect, it } from "vitest"
import { pgliteStore, postgresStore } from "../src/index.js"
import { createTestDatabase, requiredDatabaseUrl } from "./testDatabase.js"

/** A store to test on and, for the SQL stores, a way to read its tables directly. */
interface Target {
  readonly store: StoreService
  readonly sql: ((text: string) => Promise<ReadonlyArray<Record<string, unknown>>>) | undefined
}

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f()
})

const card = "4111 1111 1111 1111"
let sequence = 0
const inbound = (from: string, text: string, providerMessageId = `m-${Date.now()}-${++sequence}`) => ({
  channel: "chat",
  providerMessageId,
  from: { address: from },
  parts: [{ _tag: "text" as const, text }],
  sentAt: Date.now()
})
const textOf = (parts: ReadonlyArray<MessagePart>) =>
  parts.map((p) => (p._tag === "text" ? p.text : "")).join("")
const waitFor = async (check: () => boolean | Promise<boolean>, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not reached in time")
    await new Promise((r) => setTimeout(r, 25))
  }
}
const allEvents = async (hub: DialogiHub): Promise<DialogiEvent[]> => [...(await hub.events.after(0, 5000))]
const ofTag = (events: ReadonlyArray<DialogiEvent>, tag: string) => events.filter((e) => e.body._tag === tag)

const openHub = async (target: Target, options: HubOptions) => {
  const adapter: TestChannelAdapter = createTestChannelAdapter({ channel: "chat" })
  const hub = await createHub({ store: target.store, adapters: [adapter], log: () => {}, ...options })
  cleanups.push(() => hub.close())
  return { hub, adapter }
}

const redactionProof = async (target: Target) => {
  const { hub, adapter } = await openHub(target, {
    hooks: {
      ingest: [{ name: "redact-cards", run: redactCardNumbers }],
      send: [{ name: "redact-cards", run: redactCardNumbers }]
    }
  })
  const { conversationId } = await hub.ingest(inbound("visitor-card", `charge my card ${card} please`))
  await hub.reply(conversationId, `Charged ${card.replace(/ /g, "")} as asked.`)
  await waitFor(() => adapter.sent.length === 1)
  // On the wire: what the adapter was asked to send.
  expect(textOf(adapter.sent[0]!.parts)).toBe("Charged [card ending 1111] as asked.")
  // In storage: the rows themselves (SQL stores) or the thread (memory).
  const thread = await hub.thread(conversationId)
  expect(thread.messages.map((m) => textOf(m.parts))).toEqual([
    "charge my card [card ending 1111] please",
    "Charged [card ending 1111] as asked."
  ])
  if (target.sql !== undefined) {
    const rows = await target.sql(
      "SELECT direction, parts::text AS parts FROM dialogi_messages ORDER BY created_at, id"
    )
    expect(rows.map((r) => r.direction)).toEqual(["inbound", "outbound"])
    for (const row of rows) {
      expect(row.parts).toContain("[card ending 1111]")
      expect(row.parts).not.toMatch(/4111[ ]?1111/)
    }
    const events = await target.sql("SELECT body::text AS body FROM dialogi_events")
    expect(events.length).toBeGreaterThan(0)
    for (const e of events) expect(e.body).not.toMatch(/4111[ ]?1111/)
  }
}

const csatProof = async (target: Target) => {
  const from = new Date(Date.now() - 1000)
  const { hub, adapter } = await openHub(target, { csat: { scale: "five" } })
  const surveysSent = () => adapter.sent.filter((s) => textOf(s.parts).startsWith("How did we do?")).length

  // A: resolved, surveyed, answers by message; the answer joins the resolved conversation.
  const a = await hub.ingest(inbound("visitor-a", "my order is late"))
  await hub.reply(a.conversationId, "It ships today.")
  await hub.setStatus(a.conversationId, "resolved")
  await waitFor(() => surveysSent() === 1)
  const [pending] = await hub.csat.surveys(a.conversationId)
  expect(pending).toMatchObject({ state: "pending", scale: "five", channel: "chat" })
  const answer = inbound("visitor-a", "4 - quick and friendly")
  const answered = await hub.ingest(answer)
  expect(answered).toMatchObject({ conversationId: a.conversationId, duplicate: false })
  expect((await hub.thread(a.conversationId)).conversation.status).toBe("resolved")
  expect((await hub.csat.surveys(a.conversationId))[0]).toMatchObject({
    state: "answered",
    rating: 4,
    satisfied: true,
    comment: "quick and friendly",
    answerMessageId: answered.messageId
  })
  // A provider retry of the answer is a duplicate and records nothing twice.
  expect(await hub.ingest(answer)).toMatchObject({ messageId: answered.messageId, duplicate: true })
  expect(ofTag(await allEvents(hub), "csat.answered")).toHaveLength(1)

  // B: writes something else after the survey: skipped, and the message opens a new conversation.
  const b = await hub.ingest(inbound("visitor-b", "hi"))
  await hub.setStatus(b.conversationId, "resolved")
  await waitFor(() => surveysSent() === 2)
  const next = await hub.ingest(inbound("visitor-b", "I have another question"))
  expect(next.conversationId).not.toBe(b.conversationId)
  expect((await hub.csat.surveys(b.conversationId))[0]?.state).toBe("skipped")

  // C: answered through the API; bad and repeated answers change nothing.
  const c = await hub.ingest(inbound("visitor-c", "hello"))
  await hub.setStatus(c.conversationId, "resolved")
  await expect(hub.csat.answer(c.conversationId, { rating: 7 })).rejects.toMatchObject({
    _tag: "InvalidInput"
  })
  await expect(hub.csat.answer(c.conversationId, { rating: "up" })).rejects.toMatchObject({
    _tag: "InvalidInput"
  })
  expect(await hub.csat.answer(c.conversationId, { rating: 2, comment: " meh " })).toMatchObject({
    state: "answered",
    rating: 2,
    satisfied: false,
    comment: "meh"
  })
  await expect(hub.csat.answer(c.conversationId, { rating: 5 })).rejects.toMatchObject({
    _tag: "NoPendingSurvey"
  })
  await expect(hub.csat.answer("cv_missing", { rating: 5 })).rejects.toMatchObject({ _tag: "NotFound" })

  const events = await allEvents(hub)
  expect(ofTag(events, "csat.requested")).toHaveLength(3)
  expect(ofTag(events, "csat.skipped").map((e) => e.conversationId)).toEqual([b.conversationId])
  expect(ofTag(events, "csat.answered").map((e) => e.body)).toEqual([
    expect.objectContaining({ conversationId: a.conversationId, rating: 4, messageId: answered.messageId }),
    expect.objectContaining({ conversationId: c.conversationId, rating: 2, comment: "meh" })
  ])

  const to = new Date(Date.now() + 1000)
  const report = await hub.reports.csat({ from, to, groupBy: "channel" })
  expect(report.rows).toEqual([
    {
      group: "chat",
      requested: 3,
      answered: 2,
      satisfied: 1,
      fiveAnswers: 2,
      averageFive: 3,
      responseRatePct: (100 * 2) / 3,
      csatPct: 50
    }
  ])
  expect((await hub.reports.csat({ from, to, groupBy: "agent" })).rows).toMatchObject([
    { group: null, requested: 3 }
  ])
  expect((await hub.reports.csat({ from: to, to, groupBy: "team" })).rows).toEqual([])
  const service = await hub.reports.service({ from, to, groupBy: "channel" })
  expect(service.rows).toEqual([{ group: "chat", sla: null, csat: report.rows[0] }])
  await expect(hub.reports.csat({ from: to, to: from, groupBy: "channel" })).rejects.toMatchObject({
    _tag: "InvalidInput"
  })
  if (target.sql !== undefined) {
    const rows = await target.sql("SELECT state, rating FROM dialogi_csat_surveys ORDER BY requested_at")
    expect(rows.map((r) => [r.state, r.rating === null ? null : Number(r.rating)])).toEqual([
      ["answered", 4],
      ["skipped", null],
      ["answered", 2]
    ])
  }
}

const scenarios = (name: string, open: () => Promise<Target>) =>
  describe(`hooks and CSAT on ${name}`, () => {
    it("a redaction hook removes a card number before storage and before sending", async () => {
      await redactionProof(await open())
    })
    it("surveys after resolution; answers by message and API are stored, emitted and reported", async () => {
      await csatProof(await open())
    })
  })

scenarios("the memory store", async () => ({
  store: await Effect.runPromise(MemoryStore.makeMemoryStore()),
  sql: undefined
}))

scenarios("PGlite", async () => {
  const dir = await mkdtemp(join(tmpdir(), "dialogi-hooks-"))
  const db = await PGlite.create({ dataDir: dir })
  cleanups.push(async () => {
    await db.close()
    await rm(dir, { recursive: true, force: true })
  })
  return {
    store: await pgliteStore({ db }),
    sql: async (text) => (await db.query<Record<string, unknown>>(text)).rows
  }
})

const url = requiredDatabaseUrl()
describe.runIf(url !== undefined)("PostgreSQL", () => {
  scenarios("PostgreSQL", async () => {
    const database = await createTestDatabase(url!)
    const client = new pg.Client({ connectionString: database.url })
    cleanups.push(async () => {
      await client.end()
      await database.drop()
    })
    const store = await postgresStore({ connectionString: database.url })
    await client.connect()
    return { store, sql: async (text) => (await client.query(text)).rows }
  })
})
