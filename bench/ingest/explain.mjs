// Diagnostic, not a benchmark: ingests a workload into a fresh database, then ingests 200 more
// envelopes at once and, inside the hub's own transaction, runs each ingest statement also under
// EXPLAIN (ANALYZE, BUFFERS) behind a savepoint that is rolled back. Prints the plans of the
// biggest batch, with planning and execution time. `node bench/ingest/explain.mjs [--n 10000]`
import pg from "pg"
import { createHub } from "../../packages/core/dist/index.js"
import { postgresStore } from "../../packages/store-postgres/dist/index.js"
import { drive } from "./driver.mjs"
import { buildWorkload } from "./workload.mjs"

const n = Number(process.argv[process.argv.indexOf("--n") + 1] || 10000)
const url = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test"
const database = `dialogi_explain_${Date.now()}`
const admin = new pg.Client({ connectionString: url })
await admin.connect()
await admin.query(`CREATE DATABASE ${database}`)
const dbUrl = new URL(url)
dbUrl.pathname = `/${database}`

let capturing = false
const biggest = new Map()
const original = pg.Client.prototype.query

// Ingest sends its statements inline: several per simple-protocol query, parameters written in
// (the batch's first query opens the transaction; its last one ends with COMMIT).
const statementName = (text) =>
  /dialogi_events/.test(text) && /event_head/.test(text)
    ? "append_events"
    : /new_contacts AS/.test(text)
      ? "apply_ingest_writes"
      : /found_contacts AS/.test(text)
        ? "keyed_conversations_for_ingest"
        : /locked AS MATERIALIZED/.test(text)
          ? "find_for_ingest"
          : undefined

const explain = async (client, name, text) => {
  await original.call(client, "SAVEPOINT dialogi_explain")
  const plan = await original.call(client, `EXPLAIN (ANALYZE, BUFFERS) ${text}`)
  await original.call(client, "ROLLBACK TO SAVEPOINT dialogi_explain")
  if (!biggest.has(name) || text.length > biggest.get(name).size)
    biggest.set(name, {
      size: text.length,
      plan: plan.rows.map((r) => r["QUERY PLAN"])
    })
}

pg.Client.prototype.query = function (config, ...rest) {
  if (!capturing || typeof config !== "string" || rest.length > 0) return original.call(this, config, ...rest)
  const statements = config.split(";\n").map((text) => ({ text, name: statementName(text) }))
  if (!statements.some((s) => s.name !== undefined)) return original.call(this, config)
  return (async () => {
    // Reads are explained after the query that opens the transaction ran them; writes before
    // theirs runs (their rows would conflict afterwards), each behind a savepoint.
    const opens = /^BEGIN/.test(config)
    const result = opens ? await original.call(this, config) : undefined
    for (const { text, name } of statements) if (name !== undefined) await explain(this, name, text)
    return opens ? result : original.call(this, config)
  })()
}

try {
  const hub = await createHub({ store: await postgresStore({ connectionString: dbUrl.href }) })
  const work = buildWorkload({ n: n + 200, seed: 7, prefix: "x" })
  await drive(work.envelopes.slice(0, n), 64, (e) => hub.ingest(e))
  capturing = true
  await Promise.all(work.envelopes.slice(n, n + 200).map((e) => hub.ingest(e)))
  capturing = false
  await hub.close()
  for (const [name, { size, plan }] of biggest) {
    console.log(`\n== ${name} (${size} bytes of statement text with its parameters)`)
    for (const line of plan) console.log(line)
  }
} finally {
  await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
  await admin.end()
}
