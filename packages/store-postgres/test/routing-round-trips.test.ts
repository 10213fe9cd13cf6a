import { createHub } from "@dialogi/core"
import { createTestChannelAdapter } from "@dialogi/core/test-channel"
import { PGlite } from "@electric-sql/pglite"
import { expect, it } from "vitest"
import { makePgDriver } from "../src/driver/pgDriver.js"
import { makePgliteDriver } from "../src/driver/pgliteDriver.js"
import type { SqlDriver, SqlTransaction, Statement } from "../src/driver/SqlDriver.js"
import { makeSqlStore } from "../src/SqlStore.js"
import { createTestDatabase, requiredDatabaseUrl } from "./testDatabase.js"

// How many round trips one routing decision costs: the transaction that claims a new
// conversation's routing deadline, routes it by the rules, places it on an agent and commits.
// Counted at the driver as the pg driver sends: BEGIN and deferred statements wait and go with
// the next inline statement (one round trip) or are sent first (one more) before a prepared
// one; COMMIT takes what still waits.

interface CountedTransaction {
  readonly statements: string[]
  roundTrips: number
}

const textOf = (statement: Statement | string) => (typeof statement === "string" ? statement : statement.text)
const isInline = (statement: Statement | string) => typeof statement !== "string" && statement.inline === true

const counting = (driver: SqlDriver, transactions: CountedTransaction[]): SqlDriver => ({
  ...driver,
  begin: async (first) => {
    const inner = await driver.begin(first)
    const counted: CountedTransaction = { statements: [], roundTrips: 0 }
    transactions.push(counted)
    let opened = false
    let waiting = 0
    const send = (inline: boolean) => {
      counted.roundTrips += !opened || waiting > 0 ? (inline ? 1 : 2) : 1
      opened = true
      waiting = 0
    }
    const tx: SqlTransaction = {
      query: (statement, params) => {
        counted.statements.push(textOf(statement))
        send(isInline(statement))
        return inner.query(statement, params)
      },
      queryAll: (statements) => {
        for (const { statement } of statements) counted.statements.push(textOf(statement))
        send(true)
        return inner.queryAll(statements)
      },
      defer: (statement, params, onRows) => {
        counted.statements.push(`(deferred) ${textOf(statement)}`)
        waiting += 1
        inner.defer(statement, params, onRows)
      },
      exec: (sql) => {
        counted.statements.push(sql)
        send(false)
        return inner.exec(sql)
      },
      commit: () => {
        if (opened || waiting > 0) counted.roundTrips += 1
        return inner.commit()
      },
      rollback: () => inner.rollback()
    }
    return tx
  }
})

const databaseUrl = requiredDatabaseUrl()

it(`one routing decision (new conversation -> rule -> team -> agent) costs few round trips on ${databaseUrl ? "PostgreSQL" : "PGlite"}`, async () => {
  const database = databaseUrl === undefined ? undefined : await createTestDatabase(databaseUrl)
  const driver =
    database === undefined
      ? makePgliteDriver(await PGlite.create(), { closeDb: true })
      : makePgDriver({ connectionString: database.url })
  const transactions: CountedTransaction[] = []
  const store = await makeSqlStore(counting(driver, transactions), {
    name: "counted",
    listen: database !== undefined
  })
  const hub = await createHub({
    store,
    adapters: [createTestChannelAdapter({ channel: "chat" })],
    routing: { rules: [{ match: { channels: ["chat"] }, team: "web" }], defaultTeam: "web" },
    log: () => {}
  })
  try {
    await hub.routing.upsertTeam({ id: "web" })
    for (const id of ["w1", "w2", "w3"])
      await hub.routing.upsertParticipant({ id, teams: ["web"], capacity: 5, availability: "online" })
    const decisions: number[] = []
    for (let i = 0; i < 5; i++) {
      const r = await hub.ingest({
        channel: "chat",
        providerMessageId: `m${i}`,
        from: { address: `visitor-${i}` },
        parts: [{ _tag: "text", text: "hello" }],
        sentAt: Date.now()
      })
      const started = Date.now()
      while ((await hub.thread(r.conversationId)).conversation.assignee._tag !== "agent") {
        if (Date.now() - started > 15_000) throw new Error("not routed")
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
    }
    for (const t of transactions)
      if (
        t.statements.some((s) => /INSERT INTO dialogi_routing/.test(s)) &&
        t.statements.some((s) => /dialogi_deadlines/.test(s))
      )
        decisions.push(t.roundTrips)
    expect(decisions).toHaveLength(5)
    console.info(`[routing round trips] per decision: ${decisions.join(", ")}`)
    const [sample] = transactions.filter((t) =>
      t.statements.some((s) => /INSERT INTO dialogi_routing/.test(s))
    )
    console.info(sample?.statements.map((s) => s.replace(/\s+/g, " ").slice(0, 100)).join("\n"))
    // 21 before the routing reads were trimmed (contact read only for contact rules, the entry
    // read only for reopened conversations, the contact lock before the first read, the team
    // read with its round robin position, routing writes deferred to the next statement).
    expect(Math.max(...decisions)).toBeLessThanOrEqual(15)
  } finally {
    await hub.close()
    await database?.drop()
  }
}, 60_000)
