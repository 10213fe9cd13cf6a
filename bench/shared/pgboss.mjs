import { createRequire } from "node:module"
import { pathToFileURL } from "node:url"
import pg from "pg"

/**
 * pg-boss (the job engine the store uses) started on its own pool for a baseline, with the
 * fetch (its SKIP LOCKED claim) timed into `claimMs`. pg-boss is store-postgres's dependency,
 * not the bench's: it is resolved from there.
 */
export const startTimedPgBoss = async ({ connectionString, poolSize }, queue) => {
  const require = createRequire(new URL("../../packages/store-postgres/package.json", import.meta.url))
  const { PgBoss } = await import(pathToFileURL(require.resolve("pg-boss")).href)
  const pool = new pg.Pool({ connectionString, max: poolSize })
  const claimMs = []
  const db = {
    executeSql: async (text, values) => {
      const t0 = performance.now()
      const result = await pool.query(text, values)
      if (/SKIP LOCKED/i.test(text) && result.rowCount > 0) claimMs.push(performance.now() - t0)
      return result
    }
  }
  const boss = new PgBoss({ db, schema: "bench_boss", schedule: false })
  boss.on("error", (e) => console.error("pg-boss:", e.message))
  await boss.start()
  await boss.createQueue(queue)
  return { boss, pool, claimMs }
}
