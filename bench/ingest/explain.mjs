// Diagnostic, not a benchmark: ingests a workload into a fresh database, then ingests 200 more
// envelopes at once and, inside the hub's own transaction, runs each ingest statement first under
// EXPLAIN (ANALYZE, BUFFERS) behind a savepoint that is rolled back. Prints the plans of the
// biggest batch. `node bench/ingest/explain.mjs [--n 10000]`
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
pg.Client.prototype.query = function (config, ...rest) {
  const name = typeof config === "object" ? config?.name : undefined
  if (!capturing || name === undefined || !/ingest|lock|append_events/.test(name) || rest.length > 0)
    return original.call(this, config, ...rest)
  return (async () => {
    await original.call(this, "SAVEPOINT dialogi_explain")
    const plan = await original.call(this, {
      text: `EXPLAIN (ANALYZE, BUFFERS) ${config.text}`,
      values: config.values
    })
    await original.call(this, "ROLLBACK TO SAVEPOINT dialogi_explain")
    const size = JSON.stringify(config.values).length
    const perParam = config.values.map((v, i) => `$${i + 1}=${JSON.stringify(v ?? null).length}`).join(" ")
    if (!biggest.has(name) || size > biggest.get(name).size)
      biggest.set(name, {
        size,
        rows: config.values[0]?.length,
        plan: [`parameter bytes: ${perParam}`, ...plan.rows.map((r) => r["QUERY PLAN"])]
      })
    return original.call(this, config)
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
  for (const [name, { size, rows, plan }] of biggest) {
    console.log(`\n== ${name} (${rows} rows in $1, ${size} bytes of parameters)`)
    for (const line of plan) console.log(line)
  }
} finally {
  await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
  await admin.end()
}
