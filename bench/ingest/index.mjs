// `pnpm bench ingest`: N inbound envelopes through hub.ingest on PostgreSQL and on PGlite, next
// to a plain `pg` INSERT ... ON CONFLICT DO NOTHING baseline, each target in its own process.
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parseArgs } from "node:util"
import pg from "pg"
import { fmt, intReader, parseCli, runTargetProcess, targetList } from "../shared/cli.mjs"

const usage = `usage: pnpm bench ingest [--n 20000] [--concurrency 64] [--pool 16] [--warmup 1000]
  [--targets baseline,postgres,pglite] [--max-ingest-batch N] [--ingest-concurrency N] [--seed 42]
  [--rounds 1] (each round runs every target on a fresh database; medians are reported)
  [--sla] (the hub runs an SLA policy: clocks start and resume on every ingest)
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
      rounds: { type: "string", default: "1" },
      sla: { type: "boolean", default: false },
      help: { type: "boolean", default: false }
    }
  })
  const int = intReader(values)
  const targets = targetList(values.targets, ["baseline", "postgres", "pglite", "memory"])
  return {
    help: values.help,
    n: int("n", 1),
    concurrency: int("concurrency", 1),
    poolSize: int("pool", 1),
    warmup: int("warmup", 0),
    seed: int("seed", 0),
    rounds: int("rounds", 1),
    targets,
    hubOptions: {
      ...(values["max-ingest-batch"] === undefined ? {} : { maxIngestBatch: int("max-ingest-batch", 1) }),
      ...(values["ingest-concurrency"] === undefined
        ? {}
        : { ingestConcurrency: int("ingest-concurrency", 1) }),
      // --sla: every conversation gets first-response and resolution clocks in office hours, as
      // a host with an SLA policy would run; shows what the clocks add to an ingest.
      ...(values.sla
        ? {
            sla: {
              policies: [
                {
                  id: "bench",
                  targets: {
                    firstResponse: 4 * 3_600_000,
                    nextResponse: 2 * 3_600_000,
                    resolution: 40 * 3_600_000
                  },
                  calendar: {
                    timeZone: "Europe/Helsinki",
                    weekly: Object.fromEntries(
                      ["monday", "tuesday", "wednesday", "thursday", "friday"].map((d) => [
                        d,
                        ["08:00-18:00"]
                      ])
                    )
                  }
                }
              ]
            }
          }
        : {})
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

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

const describe = (target, result) =>
  `${target}: ${fmt(result.msgsPerS)} msgs/s in ${fmt(result.wallMs / 1000, 1)}s, p50 ${fmt(result.p50Ms, 1)} ms, p99 ${fmt(result.p99Ms, 1)} ms, ${fmt(result.roundTrips / result.count, 1)} round trips/ingest, CPU per message: Node ${fmt(result.nodeCpuUsPerMsg)} µs (system ${fmt(result.nodeSysCpuUsPerMsg)}), PostgreSQL ${result.pgCpuUsPerMsg === undefined ? "-" : fmt(result.pgCpuUsPerMsg)} µs${result.bytesPerMsg === undefined ? "" : `, written per message: ${fmt(result.bytesPerMsg)} bytes in ${fmt(result.writesPerMsg, 2)} writes`}`

/** Runs every target once on a fresh database and PGlite directory; returns their results. */
const runRound = async (options, adminUrl, admin, round) => {
  const database = `dialogi_bench_${Date.now()}_${round}`
  const url = new URL(adminUrl)
  url.pathname = `/${database}`
  const connectionString = url.toString()
  const needsPostgres = options.targets.some((t) => t === "baseline" || t === "postgres")
  const dataDir = await mkdtemp(join(tmpdir(), "dialogi-bench-pglite-"))
  if (needsPostgres) await admin.query(`CREATE DATABASE ${database}`)
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
      console.log(result.error ? `${target}: FAILED ${result.error}` : describe(target, result))
      if (result.statements)
        for (const [text, { count, ms }] of result.statements)
          console.log(
            `    ${(count / result.count).toFixed(2).padStart(7)}/ingest ${(ms / count).toFixed(2).padStart(7)} ms each  ${text}`
          )
    }
  } finally {
    if (needsPostgres)
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch((e) => console.error(e))
    await rm(dataDir, { recursive: true, force: true })
  }
  return results
}

export const main = async (argv) => {
  const { options, exitCode } = parseCli(argv, parse, usage)
  if (!options) return exitCode
  const adminUrl = process.env.DATABASE_URL ?? defaultUrl
  const needsPostgres = options.targets.some((t) => t === "baseline" || t === "postgres")
  const admin = new pg.Client({ connectionString: adminUrl })
  if (needsPostgres) await admin.connect()
  console.log(
    `ingest bench: n=${options.n} (5% re-deliveries) concurrency=${options.concurrency} pool=${options.poolSize} warmup=${options.warmup} rounds=${options.rounds} hub=${JSON.stringify(options.hubOptions)}`
  )
  const rounds = []
  try {
    for (let round = 1; round <= options.rounds; round++) {
      if (options.rounds > 1) console.log(`round ${round}/${options.rounds}`)
      rounds.push(await runRound(options, adminUrl, admin, round))
    }
  } finally {
    if (needsPostgres) await admin.end()
  }

  // Per target: the median of its rounds (msgs/s, latencies, RSS), failing if any round failed.
  const ratioOf = (results, target) => {
    const t = results.find((r) => r.target === target && !r.error)
    const b = results.find((r) => r.target === "baseline" && !r.error)
    return t && b ? t.msgsPerS / b.msgsPerS : undefined
  }
  console.log("")
  console.log("store     msgs/s   p50 ms   p99 ms  peak RSS MB  ratio  verify")
  let failed = false
  const summary = new Map()
  for (const target of options.targets) {
    const runs = rounds.map((results) => results.find((r) => r.target === target))
    const problems = runs.flatMap((r) => (r.error ? [r.error.split("\n")[0]] : check(r)))
    if (problems.length > 0) failed = true
    const ok = runs.filter((r) => !r.error)
    const ratios = rounds.map((results) => ratioOf(results, target)).filter((r) => r !== undefined)
    const row =
      ok.length === 0
        ? undefined
        : {
            msgsPerS: median(ok.map((r) => r.msgsPerS)),
            p50Ms: median(ok.map((r) => r.p50Ms)),
            p99Ms: median(ok.map((r) => r.p99Ms)),
            peakRssMb: Math.max(...ok.map((r) => r.peakRssMb)),
            ratio: ratios.length === rounds.length ? median(ratios) : undefined
          }
    summary.set(target, row)
    const last = ok.at(-1)
    console.log(
      `${target.padEnd(8)} ${fmt(row?.msgsPerS).padStart(7)} ${fmt(row?.p50Ms, 1).padStart(8)} ${fmt(row?.p99Ms, 1).padStart(8)} ${fmt(row?.peakRssMb).padStart(12)} ${(row?.ratio === undefined ? "-" : fmt(row.ratio, 2)).padStart(6)}  ${
        problems.length === 0
          ? `ok${rounds.length > 1 ? ` in all ${rounds.length} rounds` : ""}: ${last.counts.messages} messages = ${last.counts.receivedEvents} message.received = ${last.expected.distinct} distinct ids, 0 lost, 0 duplicated`
          : `FAILED: ${problems.join("; ")}`
      }`
    )
  }
  const postgres = summary.get("postgres")
  const baseline = summary.get("baseline")
  const ratio = postgres?.ratio
  console.log(
    `RESULT ingest store=postgres msgs_per_s=${fmt(postgres?.msgsPerS)} baseline_msgs_per_s=${fmt(baseline?.msgsPerS)} ratio=${ratio === undefined ? "-" : ratio.toFixed(2)}`
  )
  const wantedRatio = options.targets.includes("postgres") && options.targets.includes("baseline")
  return failed || (wantedRatio && ratio === undefined) ? 1 : 0
}
