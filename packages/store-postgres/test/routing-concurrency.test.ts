import { createHub, type DialogiHub, type RoutingOptions } from "@dialogi/core"
import { createTestChannelAdapter } from "@dialogi/core/test-channel"
import pg from "pg"
import { afterEach, describe, expect, it } from "vitest"
import { postgresStore } from "../src/index.js"
import { createTestDatabase, requiredDatabaseUrl } from "./testDatabase.js"

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const waitFor = async (check: () => Promise<boolean>, timeoutMs = 30_000) => {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not reached in time")
    await sleep(50)
  }
}

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f()
})

const databaseUrl = requiredDatabaseUrl()

describe.skipIf(databaseUrl === undefined)("routing on PostgreSQL with two hub instances", () => {
  /** Two hubs (each its own pool, deadline runner and LISTEN) on one fresh database. */
  const twoInstances = async (routing: RoutingOptions = {}) => {
    const db = await createTestDatabase(databaseUrl!)
    cleanups.push(db.drop)
    const open = async () => {
      const hub = await createHub({
        store: await postgresStore({ connectionString: db.url, pool: { max: 10 } }),
        adapters: [
          createTestChannelAdapter({ channel: "sms" }),
          createTestChannelAdapter({ channel: "chat", capabilities: { canInitiate: false } })
        ],
        routing,
        log: () => {}
      })
      cleanups.push(() => hub.close())
      return hub
    }
    const sql = new pg.Client({ connectionString: db.url })
    await sql.connect()
    cleanups.push(() => sql.end())
    return { a: await open(), b: await open(), sql }
  }

  let n = 0
  const write = (hub: DialogiHub, channel: "sms" | "chat", i: number) =>
    hub.ingest({
      channel,
      providerMessageId: `p${++n}-${i}`,
      from: { address: channel === "sms" ? `+35840${String(2_000_000 + i)}` : `visitor-${i}` },
      parts: [{ _tag: "text", text: "hello" }],
      sentAt: Date.now()
    })

  it("100 concurrent accepts of one handoff, split over two instances: exactly one is accepted", async () => {
    const { a, b, sql } = await twoInstances()
    await a.routing.upsertTeam({ id: "humans" })
    for (let i = 0; i < 100; i++)
      await a.routing.upsertParticipant({
        id: `h${i}`,
        teams: ["humans"],
        capacity: 5,
        availability: "online"
      })
    const received = await write(a, "sms", 1)
    const handoff = await a.handoff(received.conversationId, {
      to: { _tag: "team", id: "humans" },
      reason: "customer asked for a human",
      note: "wants a refund"
    })
    const outcomes = await Promise.allSettled(
      Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? a : b).handoffs.accept(handoff.id, `h${i}`))
    )
    const won = outcomes.flatMap((o) => (o.status === "fulfilled" ? [o.value] : []))
    const lost = outcomes.flatMap((o) => (o.status === "rejected" ? [o.reason] : []))
    expect(won).toHaveLength(1)
    expect(lost).toHaveLength(99)
    for (const error of lost) expect(error).toMatchObject({ _tag: "HandoffNotPending", state: "accepted" })
    const winner = won[0]!.decidedBy!
    expect((await b.thread(received.conversationId)).conversation.assignee).toEqual({
      _tag: "agent",
      id: winner
    })
    const stored = await sql.query("SELECT state, count(*)::int AS n FROM dialogi_handoffs GROUP BY state")
    expect(stored.rows).toEqual([{ state: "accepted", n: 1 }])
    const accepted = (await a.events.after(0, 5000)).filter((e) => e.body._tag === "handoff.accepted")
    expect(accepted.map((e) => e.body)).toEqual([
      { _tag: "handoff.accepted", conversationId: received.conversationId, handoffId: handoff.id, by: winner }
    ])
  })

  it("customers writing again while their conversation is being routed lose neither message nor owner", async () => {
    const { a, b, sql } = await twoInstances({ defaultTeam: "support" })
    await a.routing.upsertTeam({ id: "support", strategy: "least_loaded" })
    for (let i = 0; i < 4; i++)
      await a.routing.upsertParticipant({
        id: `a${i}`,
        teams: ["support"],
        capacity: 100,
        availability: "online"
      })
    const customers = 60
    await Promise.all(
      Array.from({ length: customers }, async (_, i) => {
        await write(a, "sms", 500 + i)
        // Follow-ups race the routing job of the conversation the first message opened.
        await Promise.all([1, 2, 3].map((k) => write(k % 2 ? b : a, "sms", 500 + i)))
      })
    )
    const unowned = async () =>
      (await sql.query("SELECT count(*)::int AS n FROM dialogi_conversations WHERE assignee_kind <> 'agent'"))
        .rows[0].n as number
    await waitFor(async () => (await unowned()) === 0)
    const conversations = await sql.query(
      `SELECT c.id, (SELECT count(*)::int FROM dialogi_messages m WHERE m.conversation_id = c.id) AS messages,
         c.last_message_at >= (SELECT max(m.created_at) FROM dialogi_messages m WHERE m.conversation_id = c.id) AS fresh
       FROM dialogi_conversations c`
    )
    expect(conversations.rows).toHaveLength(customers)
    for (const row of conversations.rows) expect(row).toMatchObject({ messages: 4, fresh: true })
    await sleep(300)
    expect(await unowned()).toBe(0)
  })

  it("two instances routing into two teams that share agents never exceed anyone's capacity", async () => {
    const routing: RoutingOptions = {
      rules: [{ match: { channels: ["chat"] }, team: "sales" }],
      defaultTeam: "support"
    }
    const { a, b, sql } = await twoInstances(routing)
    await a.routing.upsertTeam({ id: "support", strategy: "least_loaded" })
    await a.routing.upsertTeam({ id: "sales", strategy: "round_robin" })
    for (let i = 0; i < 4; i++)
      await a.routing.upsertParticipant({
        id: `a${i}`,
        teams: ["support", "sales"],
        capacity: 3,
        availability: "online"
      })
    const total = 80
    const received = await Promise.all(
      Array.from({ length: total }, (_, i) => write(i % 2 === 0 ? a : b, i % 4 < 2 ? "sms" : "chat", i))
    )
    const ids = received.map((r) => r.conversationId)
    expect(new Set(ids).size).toBe(total)

    const placed = async () =>
      (
        await sql.query(
          `SELECT count(*)::int AS n FROM dialogi_conversations c
           WHERE c.assignee_kind = 'agent' OR EXISTS (SELECT 1 FROM dialogi_routing r WHERE r.conversation_id = c.id AND r.queued)`
        )
      ).rows[0].n as number
    await waitFor(async () => (await placed()) === total)
    const loads = async () =>
      (
        await sql.query(
          `SELECT assignee_id AS id, count(*)::int AS n FROM dialogi_conversations
           WHERE assignee_kind = 'agent' AND status <> 'resolved' GROUP BY assignee_id ORDER BY assignee_id`
        )
      ).rows as Array<{ id: string; n: number }>
    expect(await loads()).toEqual([0, 1, 2, 3].map((i) => ({ id: `a${i}`, n: 3 })))
    const queued = async () =>
      (await sql.query("SELECT count(*)::int AS n FROM dialogi_routing WHERE queued")).rows[0].n as number
    expect(await queued()).toBe(total - 12)

    // Every agent resolves everything at once, from both instances: the queues drain into the
    // freed room concurrently, still never above capacity, and nothing is assigned twice.
    for (let round = 0; round < 3; round++) {
      const open = (
        await sql.query(
          "SELECT id FROM dialogi_conversations WHERE assignee_kind = 'agent' AND status <> 'resolved'"
        )
      ).rows.map((r) => r.id as string)
      await Promise.all(open.map((id, i) => (i % 2 === 0 ? a : b).setStatus(id, "resolved")))
      await waitFor(async () => (await queued()) === Math.max(0, total - 12 * (round + 2)))
      await waitFor(async () => (await loads()).reduce((s, l) => s + l.n, 0) === 12)
      for (const l of await loads()) expect(l.n).toBeLessThanOrEqual(3)
    }
    const assignments = (await a.events.after(0, 10_000))
      .map((e) => e.body)
      .filter((body) => body._tag === "conversation.assigned" && body.to._tag === "agent")
      .map((body) => (body as { conversationId: string }).conversationId)
    expect(new Set(assignments).size).toBe(assignments.length)
    expect(assignments).toHaveLength(48)
  })
})
