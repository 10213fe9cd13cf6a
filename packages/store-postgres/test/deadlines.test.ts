import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { ConversationId, Deadline, StoreService, StoreTx } from "@dialogi/core"
import { Effect, Exit, Scope } from "effect"
import pg from "pg"
import { afterEach, describe, expect, it } from "vitest"
import { pgliteStore, postgresStore } from "../src/index.js"
import { createTestDatabase, requiredDatabaseUrl } from "./testDatabase.js"

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const waitFor = async (check: () => boolean | Promise<boolean>, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not reached in time")
    await sleep(20)
  }
}

/** The handler every test uses: one event per firing, written in the deadline's transaction. */
const recordFiring = (d: Deadline, t: StoreTx) =>
  Effect.asVoid(
    t.appendEvents([{ _tag: "conversation.resolved", conversationId: d.key as ConversationId }], new Date())
  )

const firedKeys = async (store: StoreService) =>
  (await Effect.runPromise(store.read((t) => t.eventsAfter(0, 100_000)))).map(
    (e) => (e.body as { conversationId: string }).conversationId
  )

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f()
})

const runLoop = async (store: StoreService, kind: string, handler = recordFiring) => {
  const scope = Effect.runSync(Scope.make())
  cleanups.push(() => Effect.runPromise(Scope.close(scope, Exit.void)))
  await Effect.runPromise(Scope.extend(store.runDeadlines(kind, handler), scope))
}

const restartTest = async (open: () => Promise<StoreService>) => {
  const first = await open()
  const due = Date.now() + 800
  await Effect.runPromise(
    first.transaction((t) =>
      t.armDeadline({ key: "sla:c1:breach", kind: "sla", dueAt: new Date(due), payload: {} })
    )
  )
  await Effect.runPromise(first.close)
  await sleep(Math.max(0, due - Date.now()) + 700)
  const second = await open()
  cleanups.push(() => Effect.runPromise(second.close))
  const started = Date.now()
  await runLoop(second, "sla")
  await waitFor(async () => (await firedKeys(second)).length > 0, 5000)
  expect(Date.now() - started).toBeLessThan(1500)
  await sleep(1000)
  expect(await firedKeys(second)).toEqual(["sla:c1:breach"])
  expect(await Effect.runPromise(second.read((t) => t.getDeadline("sla:c1:breach")))).toBeUndefined()
}

describe("deadlines on PGlite", () => {
  it("a deadline armed before a restart fires exactly once after it", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "dialogi-deadlines-"))
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }))
    await restartTest(() => pgliteStore({ dataDir }))
  })
})

const databaseUrl = requiredDatabaseUrl()
describe.skipIf(databaseUrl === undefined)("deadlines on PostgreSQL", () => {
  const database = async () => {
    const db = await createTestDatabase(databaseUrl!)
    cleanups.push(db.drop)
    return db.url
  }
  const open = async (url: string) => {
    const store = await postgresStore({ connectionString: url })
    cleanups.push(() => Effect.runPromise(store.close))
    return store
  }

  it("two instances on one database: 500 deadlines due together fire exactly once each", async () => {
    const url = await database()
    const a = await open(url)
    const b = await open(url)
    const byInstance = { a: 0, b: 0 }
    const counting = (name: "a" | "b") => (d: Deadline, t: StoreTx) =>
      Effect.zipRight(
        recordFiring(d, t),
        Effect.sync(() => {
          byInstance[name]++
        })
      )
    await runLoop(a, "sla", counting("a"))
    await runLoop(b, "sla", counting("b"))
    const due = Date.now() + 1500
    const keys = Array.from({ length: 500 }, (_, i) => `sla:c${i}:first_response:breach`)
    // Armed from both instances, in several transactions.
    for (let i = 0; i < 500; i += 100) {
      const store = (i / 100) % 2 === 0 ? a : b
      await Effect.runPromise(
        store.transaction((t) =>
          t.armDeadlines(
            keys.slice(i, i + 100).map((key) => ({ key, kind: "sla", dueAt: new Date(due), payload: {} }))
          )
        )
      )
    }
    await waitFor(async () => (await firedKeys(a)).length >= 500, 20_000)
    const allFiredAt = Date.now()
    await sleep(1500)
    const fired = await firedKeys(a)
    expect(fired.length).toBe(500)
    expect(new Set(fired).size).toBe(500)
    expect([...fired].sort()).toEqual([...keys].sort())
    expect(byInstance.a + byInstance.b).toBe(500)
    expect(allFiredAt - due).toBeLessThan(5000)
    console.log(
      `500 deadlines: instance a fired ${byInstance.a}, b ${byInstance.b}; last one ${allFiredAt - due} ms after due`
    )
  })

  it("a deadline armed before a restart fires exactly once after it", async () => {
    const url = await database()
    await restartTest(() => postgresStore({ connectionString: url }))
  })

  it("another instance's arm wakes a sleeping loop through NOTIFY", async () => {
    const url = await database()
    const armer = await open(url)
    const runner = await open(url)
    await runLoop(runner, "handoff")
    await sleep(300)
    const due = Date.now() + 300
    await Effect.runPromise(
      armer.transaction((t) =>
        t.armDeadline({ key: "handoff:c1", kind: "handoff", dueAt: new Date(due), payload: {} })
      )
    )
    await waitFor(async () => (await firedKeys(runner)).length === 1, 5000)
    expect(Date.now()).toBeLessThan(due + 1500)
  })

  it("the claim reads the due-time index (now() is stable; clock_timestamp() would not be)", async () => {
    const url = await database()
    const store = await open(url)
    const far = Date.now() + 3_600_000
    await Effect.runPromise(
      store.transaction((t) =>
        t.armDeadlines(
          Array.from({ length: 20_000 }, (_, i) => ({
            key: `k${i}`,
            kind: i % 2 === 0 ? "sla" : "handoff",
            dueAt: new Date(far + i * 1000),
            payload: {}
          }))
        )
      )
    )
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    try {
      await client.query("ANALYZE dialogi_deadlines")
      const plan = await client.query(
        `EXPLAIN DELETE FROM dialogi_deadlines WHERE key IN (
           SELECT key FROM dialogi_deadlines WHERE due_at <= now() AND kind = ANY($1::text[])
           ORDER BY due_at LIMIT 50 FOR UPDATE SKIP LOCKED) RETURNING key`,
        [["sla"]]
      )
      const text = plan.rows.map((r) => r["QUERY PLAN"]).join("\n")
      expect(text).toContain("dialogi_deadlines_due")
      expect(text).not.toMatch(/Seq Scan/)
    } finally {
      await client.end()
    }
  })
})
