// `pnpm bench deadlines`: arm N deadlines on PostgreSQL (most of them far in the future), let
// `soon` of them come due within ~20 s, and measure arming rate, firing lateness, claim time and
// peak RSS: dialogi's deadline table next to pg-boss delayed jobs (`send` with `startAfter`),
// each target in its own process on its own fresh database.
import { parseArgs } from "node:util"
import pg from "pg"
import { fmt, intReader, parseCli, runTargetProcess, targetList } from "../shared/cli.mjs"

const usage = `usage: pnpm bench deadlines [--n 200000] [--soon 10000] [--window 16000] [--concurrency 32]
  [--pool 16] [--claimers 1] [--targets dialogi,pgboss]
env: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test)`

const defaultUrl = "postgres://postgres@127.0.0.1:5432/test"

const parse = (argv) => {
  const { values } = parseArgs({
    args: argv,
    options: {
      n: { type: "string", default: "200000" },
      soon: { type: "string", default: "10000" },
      window: { type: "string", default: "16000" },
      concurrency: { type: "string", default: "32" },
      pool: { type: "string", default: "16" },
      claimers: { type: "string", default: "1" },
      targets: { type: "string", default: "dialogi,pgboss" },
      help: { type: "boolean", default: false }
    }
  })
  const int = intReader(values)
  const targets = targetList(values.targets, ["dialogi", "pgboss"])
  const n = int("n", 1)
  const soon = int("soon", 1)
  if (soon > n) throw new Error("--soon must be <= --n")
  return {
    help: values.help,
    n,
    soon,
    windowMs: int("window", 0),
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
    `deadlines bench: n=${options.n} (${options.soon} due within ~${Math.round((4000 + options.windowMs) / 1000)} s, the rest 1 h - 30 days out) arming concurrency=${options.concurrency} pool=${options.poolSize} claimers=${options.claimers}`
  )
  const results = []
  try {
    for (const target of options.targets) {
      const database = `dialogi_bench_deadlines_${target}_${Date.now()}`
      const url = new URL(adminUrl)
      url.pathname = `/${database}`
      await admin.query(`CREATE DATABASE ${database}`)
      try {
        const result = await runTarget({ ...options, target, connectionString: url.toString() })
        results.push(result)
        if (result.error) console.log(`${target}: FAILED ${result.error}`)
        else
          console.log(
            `${target.padEnd(8)} armed ${fmt(result.armedPerS)}/s (${fmt(result.armMs / 1000, 1)} s) | fired ${result.fired}/${result.soon}, duplicates ${result.duplicates}, far fired ${result.farFired} | late p50 ${fmt(result.lateP50)} ms p99 ${fmt(result.lateP99)} ms max ${fmt(result.lateMax)} ms | claim p50 ${fmt(result.claimP50, 2)} ms p99 ${fmt(result.claimP99, 2)} ms (${result.claims} claims) | peak RSS ${fmt(result.rssMb)} MB${result.armingOverlappedDue ? " | NOTE: arming ran past the first due time" : ""}`
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
  const problems = results.filter((r) => r.error || r.fired !== r.soon || r.duplicates > 0 || r.farFired > 0)
  for (const r of problems)
    if (!r.error)
      console.log(
        `${r.target}: PROBLEM fired ${r.fired}/${r.soon}, duplicates ${r.duplicates}, far fired ${r.farFired}`
      )
  console.log(
    `RESULT deadlines armed_per_s=${fmt(ours?.armedPerS)} baseline_per_s=${fmt(base?.armedPerS)} ratio=${ours && base ? (ours.armedPerS / base.armedPerS).toFixed(2) : "-"} late_p99_ms=${fmt(ours?.lateP99)}`
  )
  return problems.length > 0 ? 1 : 0
}
