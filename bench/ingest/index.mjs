// `pnpm bench ingest`: N inbound envelopes through hub.ingest on PostgreSQL and on PGlite, next
// to a plain `pg` INSERT ... ON CONFLICT DO NOTHING baseline, each target in its own process.
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parseArgs } from "node:util"
import pg from "pg"
import { fmt, parseCli, runTargetProcess } from "../shared/cli.mjs"

const usage = `usage: pnpm bench ingest [--n 20000] [--concurrency 64] [--pool 16] [--warmup 1000]
  [--targets baseline,postgres,pglite] [--max-ingest-batch N] [--ingest-concurrency N] [--seed 42]
env: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test), BENCH_TRACE=1 (statement
counts per target), BENCH_CPU_PROF=1 (node --cpu-prof of each target into bench/.prof)`

const defaultUrl = "postgres://postgres@127.0.0.1:5432/test"

const parse = (argv) => {
  const { values } = parseArgs({
    args: argv,
    options: {
      n: { type: "string", default: "20000" },
      concurrency: { type: "string", default: "64" },
      pool: { type: "string", default: "16" },
      warmup: { type: "string", default: "1000" },
      targets: { type: "string", default: "baseline,postgres,pglite" },
      "max-ingest-batch": { type: "string" },
      "ingest-concurrency": { type: "string" },
      seed: { type: "string", default: "42" },
      help: { type: "boolean", default: false }
    }
  })
  const int = (name, min) => {
    const v = Number(values[name])
    if (!Number.isInteger(v) || v < min) throw new Error(`--${name} must be an integer >= ${min}`)
    return v
  }
  const targets = values.targets.split(",").map((t) => t.trim())
  for (const t of targets)
    if (!["baseline", "postgres", "pglite", "memory"].includes(t)) throw new Error(`unknown target ${t}`)
  return {
    help: values.help,
    n: int("n", 1),
    concurrency: int("concurrency", 1),
    poolSize: int("pool", 1),
    warmup: int("warmup", 0),
    seed: int("seed", 0),
    targets,
    hubOptions: {
      ...(values["max-ingest-batch"] === undefined ? {} : { maxIngestBatch: int("max-ingest-batch", 1) }),
      ...(values["ingest-concurrency"] === undefined
        ? {}
        : { ingestConcurrency: int("ingest-concurrency", 1) })
    }
  }
}

const runTarget = (settings) => runTargetProcess(new URL("./target.mjs", import.meta.url), settings)

/** Lost, duplicated and unexpected rows, from per-id counts against the workload. */
const check = (result) => {
  const problems = []
  const { counts, expected } = result
  if (counts.messages !== expected.distinct)
    problems.push(`messages=${counts.messages}, expected ${expected.distinct}`)
  if (counts.lost > 0) problems.push(`${counts.lost} provider ids lost`)
  if (counts.duplicated > 0) problems.push(`${counts.duplicated} provider ids stored more than once`)
  if (counts.unexpected > 0) problems.push(`${counts.unexpected} rows with ids not in the workload`)
  if (counts.receivedEvents !== expected.distinct)
    problems.push(`message.received events=${counts.receivedEvents}, expected ${expected.distinct}`)
  if (result.duplicatesReported !== expected.duplicates)
    problems.push(`ingest reported ${result.duplicatesReported} duplicates, expected ${expected.duplicates}`)
  return problems
}

export const main = async (argv) => {
  const { options, exitCode } = parseCli(argv, parse, usage)
  if (!options) return exitCode
  const adminUrl = process.env.DATABASE_URL ?? defaultUrl
  const database = `dialogi_bench_${Date.now()}`
  const url = new URL(adminUrl)
  url.pathname = `/${database}`
  const connectionString = url.toString()
  const needsPostgres = options.targets.some((t) => t === "baseline" || t === "postgres")
  const admin = new pg.Client({ connectionString: adminUrl })
  const dataDir = await mkdtemp(join(tmpdir(), "dialogi-bench-pglite-"))
  if (needsPostgres) {
    await admin.connect()
    await admin.query(`CREATE DATABASE ${database}`)
  }
  console.log(
    `ingest bench: n=${options.n} (5% re-deliveries) concurrency=${options.concurrency} pool=${options.poolSize} warmup=${options.warmup} hub=${JSON.stringify(options.hubOptions)}`
  )
  const results = []
  try {
    for (const target of options.targets) {
      const result = await runTarget({
        target,
        n: options.n,
        warmup: options.warmup,
        seed: options.seed,
        concurrency: options.concurrency,
        poolSize: options.poolSize,
        connectionString,
        dataDir,
        hubOptions: options.hubOptions,
        storeOptions: target === "postgres" ? { pool: { max: options.poolSize } } : {}
      })
      results.push(result)
      if (result.error) console.log(`${target}: FAILED ${result.error}`)
      else
        console.log(
          `${target}: ${fmt(result.msgsPerS)} msgs/s in ${fmt(result.wallMs / 1000, 1)}s, p50 ${fmt(result.p50Ms, 1)} ms, p99 ${fmt(result.p99Ms, 1)} ms, ${fmt(result.roundTrips / result.count, 1)} round trips/ingest`
        )
      if (result.statements)
        for (const [text, count] of result.statements)
          console.log(`    ${(count / result.count).toFixed(2).padStart(7)}/ingest  ${text}`)
    }
  } finally {
    if (needsPostgres) {
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch((e) => console.error(e))
      await admin.end()
    }
    await rm(dataDir, { recursive: true, force: true })
  }

  const baseline = results.find((r) => r.target === "baseline" && !r.error)
  console.log("")
  console.log("store     msgs/s   p50 ms   p99 ms  peak RSS MB  ratio  verify")
  let failed = false
  for (const r of results) {
    const problems = r.error ? [r.error.split("\n")[0]] : check(r)
    if (problems.length > 0) failed = true
    const ratio = baseline && !r.error ? fmt(r.msgsPerS / baseline.msgsPerS, 2) : "-"
    console.log(
      `${r.target.padEnd(8)} ${fmt(r.msgsPerS).padStart(7)} ${fmt(r.p50Ms, 1).padStart(8)} ${fmt(r.p99Ms, 1).padStart(8)} ${fmt(r.peakRssMb).padStart(12)} ${ratio.padStart(6)}  ${
        problems.length === 0
          ? `ok: ${r.counts.messages} messages = ${r.counts.receivedEvents} message.received = ${r.expected.distinct} distinct ids, 0 lost, 0 duplicated`
          : `FAILED: ${problems.join("; ")}`
      }`
    )
  }
  const postgres = results.find((r) => r.target === "postgres" && !r.error)
  const ratio = postgres && baseline ? postgres.msgsPerS / baseline.msgsPerS : Number.NaN
  console.log(
    `RESULT ingest store=postgres msgs_per_s=${fmt(postgres?.msgsPerS)} baseline_msgs_per_s=${fmt(baseline?.msgsPerS)} ratio=${Number.isNaN(ratio) ? "-" : ratio.toFixed(2)}`
  )
  const wantedRatio = options.targets.includes("postgres") && options.targets.includes("baseline")
  return failed || (wantedRatio && !(postgres && baseline)) ? 1 : 0
}
