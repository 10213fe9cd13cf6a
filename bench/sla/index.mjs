// `pnpm bench sla`: SLA clocks on N conversations on PostgreSQL (default 1,000,000), of which
// `soon` (10,000) come due within a minute, through the hub's SLA engine (`hub.sla.startClocks`,
// the same transition and bulk writes as the ingest path); next to the same count of bare pg-boss
// delayed jobs. Each target runs in its own process on its own fresh database.
import { parseArgs } from "node:util"
import pg from "pg"
import { fmt, intReader, parseCli, runTargetProcess, targetList } from "../shared/cli.mjs"

const usage = `usage: pnpm bench sla [--count 1000000] [--soon 10000] [--due-in 10000] [--batch 100]
  [--concurrency 8] [--pool 16] [--claimers 2] [--targets dialogi,pgboss]
env: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test)`

const defaultUrl = "postgres://postgres@127.0.0.1:5432/test"

const parse = (argv) => {
  const { values } = parseArgs({
    args: argv,
    options: {
      count: { type: "string", default: "1000000" },
      soon: { type: "string", default: "10000" },
      "due-in": { type: "string", default: "10000" },
      batch: { type: "string", default: "100" },
      concurrency: { type: "string", default: "8" },
      pool: { type: "string", default: "16" },
      claimers: { type: "string", default: "2" },
      targets: { type: "string", default: "dialogi,pgboss" },
      help: { type: "boolean", default: false }
    }
  })
  const int = intReader(values)
  const targets = targetList(values.targets, ["dialogi", "pgboss"])
  const count = int("count", 1)
  const soon = int("soon", 1)
  if (soon > count) throw new Error("--soon must be <= --count")
  return {
    help: values.help,
    count,
    soon,
    dueInMs: int("due-in", 1000),
    batch: int("batch", 1),
    concurrency: int("concurrency", 1),
    poolSize: int("pool", 1),
    claimers: int("claimers", 1),
    targets
  }
}

const runTarget = (settings) => runTargetProcess(new URL("./target.mjs", import.meta.url), settings)

export const main = async (argv) => {
  const { options, exitCode } = parseCli(argv, parse, usage)
  if (!options) return exitCode
  const adminUrl = process.env.DATABASE_URL ?? defaultUrl
  const admin = new pg.Client({ connectionString: adminUrl })
  await admin.connect()
  console.log(
    `sla bench: count=${options.count} conversations (${options.soon} with one clock due ${Math.round(options.dueInMs / 1000)}-${Math.round(options.dueInMs / 1000) + 45} s after arming; the rest with two clocks, first response and resolution, due business hours to days out) batch=${options.batch} concurrency=${options.concurrency} pool=${options.poolSize} claimers=${options.claimers}`
  )
  const results = []
  try {
    for (const target of options.targets) {
      const database = `dialogi_bench_sla_${target}_${Date.now()}`
      const url = new URL(adminUrl)
      url.pathname = `/${database}`
      await admin.query(`CREATE DATABASE ${database}`)
      try {
        const result = await runTarget({ ...options, target, connectionString: url.toString() })
        results.push(result)
        if (result.error) console.log(`${target}: FAILED ${result.error}`)
        else
          console.log(
            `${target.padEnd(8)} armed ${fmt(result.armedPerS)} ${target === "dialogi" ? "clocks" : "jobs"}/s (${result.clocks} in ${fmt(result.armMs / 1000, 1)} s${result.setupMs ? `, after ${fmt(result.setupMs / 1000, 1)} s seeding conversations` : ""}) | fired ${result.fired}/${result.expected} (${result.firedWhat}), duplicates ${result.duplicates}, far fired ${result.farFired} | late p50 ${fmt(result.lateP50)} ms p99 ${fmt(result.lateP99)} ms max ${fmt(result.lateMax)} ms | claim p50 ${fmt(result.claimP50, 2)} ms p99 ${fmt(result.claimP99, 2)} ms (${result.claims} claims) | peak RSS ${fmt(result.rssMb)} MB${result.armingOverlappedDue ? " | NOTE: arming ran past the first due time" : ""}`
          )
      } finally {
        await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch((e) => console.error(e))
      }
    }
  } finally {
    await admin.end()
  }
  const ours = results.find((r) => r.target === "dialogi" && !r.error)
  const base = results.find((r) => r.target === "pgboss" && !r.error)
  const problems = results.filter(
    (r) => r.error || r.fired !== r.expected || r.duplicates > 0 || r.farFired > 0
  )
  for (const r of problems)
    if (!r.error)
      console.log(
        `${r.target}: PROBLEM fired ${r.fired}/${r.expected}, duplicates ${r.duplicates}, far fired ${r.farFired}`
      )
  console.log(
    `RESULT sla armed_per_s=${fmt(ours?.armedPerS)} baseline_per_s=${fmt(base?.armedPerS)} ratio=${ours && base ? (ours.armedPerS / base.armedPerS).toFixed(2) : "-"} late_p99_ms=${fmt(ours?.lateP99)}`
  )
  return problems.length > 0 ? 1 : 0
}
