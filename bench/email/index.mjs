// `pnpm bench email`: a backlog of N mails in a throwaway Dovecot, read by a hub with the email
// adapter (on PostgreSQL, or PGlite) from an empty cursor until every mail is stored, next to a
// plain imapflow + mailparser baseline reading the same mailbox; each target in its own process.
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parseArgs } from "node:util"
import pg from "pg"
import { fmt, intReader, parseCli, runTargetProcess } from "../shared/cli.mjs"
import { loadImapFlow, loadMailComposer } from "./deps.mjs"
import { startDovecot } from "./dovecot.mjs"
import { buildEmailWorkload } from "./workload.mjs"

const usage = `usage: pnpm bench email [-n 5000] [--store postgres|pglite] [--rounds 1] [--batch-size 50]
  [--seed 42] [--timeout 600] (seconds a target may take) [--reader watcher|concurrent]
  -n: mails in the backlog; --rounds: each round runs the baseline and the hub on a fresh
  database (same Dovecot backlog); medians are reported; --batch-size: UIDs per FETCH (the
  adapter's imap.batchSize, used by the baseline too); --reader concurrent: a diagnostic, the
  bench fetches like the baseline and calls the adapter's ingestRaw for a whole batch at once
  instead of running the adapter's IMAP watcher (which ingests one mail at a time)
env: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test), BENCH_CPU_PROF=1`

const defaultUrl = "postgres://postgres@127.0.0.1:5432/test"

const parse = (argv) => {
  const { values } = parseArgs({
    args: argv,
    options: {
      n: { type: "string", short: "n", default: "5000" },
      store: { type: "string", default: "postgres" },
      reader: { type: "string", default: "watcher" },
      rounds: { type: "string", default: "1" },
      "batch-size": { type: "string", default: "50" },
      seed: { type: "string", default: "42" },
      timeout: { type: "string", default: "600" },
      help: { type: "boolean", short: "h", default: false }
    }
  })
  const int = intReader(values)
  if (values.store !== "postgres" && values.store !== "pglite")
    throw new Error("--store must be postgres or pglite")
  return {
    help: values.help,
    n: int("n", 1),
    store: values.store,
    reader: values.reader,
    rounds: int("rounds", 1),
    batchSize: int("batch-size", 1),
    seed: int("seed", 0),
    timeoutMs: int("timeout", 1) * 1000
  }
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** APPENDs the backlog to the support INBOX, as a delivering MTA leaves it; returns the last UID. */
const appendBacklog = async (account, mails) => {
  const ImapFlow = await loadImapFlow()
  const client = new ImapFlow({ ...account, logger: false, disableAutoIdle: true })
  client.on("error", () => undefined)
  await client.connect()
  let maxUid = 0
  try {
    for (const raw of mails) {
      const r = await client.append("INBOX", raw)
      maxUid = Math.max(maxUid, r.uid)
    }
    const status = await client.status("INBOX", { messages: true })
    if (status.messages !== mails.length)
      throw new Error(`INBOX has ${status.messages} mails after appending ${mails.length}`)
  } finally {
    await client.logout().catch(() => client.close())
  }
  return maxUid
}

/** Problems found by the target's verification; empty when every mail is there once, threaded right. */
const problemsOf = (result) => {
  if (result.error) return [result.error.split("\n")[0]]
  const c = result.check
  const problems = []
  if (c.messages !== result.count) problems.push(`${c.messages} messages, expected ${result.count}`)
  if (c.lost > 0) problems.push(`${c.lost} lost`)
  if (c.duplicated > 0) problems.push(`${c.duplicated} stored more than once`)
  if (c.unexpected > 0) problems.push(`${c.unexpected} not in the backlog`)
  if (c.threads !== c.expectedThreads) problems.push(`${c.threads} threads, expected ${c.expectedThreads}`)
  if (c.mixedThreads > 0) problems.push(`${c.mixedThreads} mails in another sender's thread`)
  if (c.splitSenders > 0) problems.push(`${c.splitSenders} senders split over several threads`)
  if (result.quarantined > 0) problems.push(`${result.quarantined} quarantined`)
  return problems
}

const describe = (result) =>
  result.error
    ? `${result.target}: FAILED ${result.error}`
    : `${result.target}: ${fmt(result.msgsPerS)} msgs/s in ${fmt(result.wallMs / 1000, 1)}s, peak RSS ${fmt(result.peakRssMb)} MB, CPU per message: Node ${fmt(result.nodeCpuUsPerMsg)} µs, Dovecot imap ${fmt(result.imapCpuUsPerMsg)} µs, PostgreSQL ${fmt(result.pgCpuUsPerMsg)} µs; ${result.check.messages} messages in ${result.check.threads} threads`

export const main = async (argv) => {
  const { options, exitCode } = parseCli(argv, parse, usage)
  if (!options) return exitCode
  const adminUrl = process.env.DATABASE_URL ?? defaultUrl
  const work = await mkdtemp(join(tmpdir(), "dialogi-bench-email-"))
  const dovecot = await startDovecot()
  const admin = options.store === "postgres" ? new pg.Client({ connectionString: adminUrl }) : undefined
  const rounds = []
  try {
    await admin?.connect()
    const built = performance.now()
    const workload = await buildEmailWorkload({
      n: options.n,
      seed: options.seed,
      MailComposer: await loadMailComposer()
    })
    const appended = performance.now()
    const maxUid = await appendBacklog(dovecot.account, workload.mails)
    console.log(
      `email bench: n=${options.n} mails (${fmt(workload.bytes / 1024 / 1024, 1)} MB, ${workload.threads} senders) built in ${fmt((appended - built) / 1000, 1)}s, APPENDed to Dovecot in ${fmt((performance.now() - appended) / 1000, 1)}s; store=${options.store} reader=${options.reader} rounds=${options.rounds} batch=${options.batchSize}`
    )
    const expectedFile = join(work, "expected.json")
    await writeFile(expectedFile, JSON.stringify({ threadOf: [...workload.threadOf], maxUid }))
    workload.mails.length = 0
    for (let round = 1; round <= options.rounds; round++) {
      if (options.rounds > 1) console.log(`round ${round}/${options.rounds}`)
      const database = `dialogi_bench_email_${Date.now()}_${round}`
      const url = new URL(adminUrl)
      url.pathname = `/${database}`
      const dataDir = join(work, `pglite-${round}`)
      if (admin) await admin.query(`CREATE DATABASE ${database}`)
      const results = []
      try {
        for (const target of ["baseline", options.store]) {
          const result = await runTargetProcess(new URL("./target.mjs", import.meta.url), {
            target,
            account: dovecot.account,
            masterPid: dovecot.masterPid,
            batchSize: options.batchSize,
            reader: options.reader,
            timeoutMs: options.timeoutMs,
            expectedFile,
            connectionString: url.toString(),
            dataDir
          })
          console.log(describe(result))
          results.push(result)
        }
      } finally {
        if (admin)
          await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch((e) => console.error(e))
        await rm(dataDir, { recursive: true, force: true })
      }
      rounds.push(results)
    }
  } finally {
    await admin?.end()
    await dovecot.stop()
    await rm(work, { recursive: true, force: true })
  }

  console.log("")
  console.log("target     msgs/s  peak RSS MB  Node µs/msg  imap µs/msg  PG µs/msg  ratio  verify")
  let failed = false
  const summary = new Map()
  for (const [index, target] of ["baseline", options.store].entries()) {
    const runs = rounds.map((results) => results[index])
    const problems = runs.flatMap(problemsOf)
    if (problems.length > 0) failed = true
    const ok = runs.filter((r) => !r.error)
    const ratios = rounds
      .map(([b, t]) => (b.error || t.error ? undefined : t.msgsPerS / b.msgsPerS))
      .filter((r) => r !== undefined)
    const med = (key) => {
      const values = ok.map((r) => r[key]).filter((v) => v !== undefined)
      return values.length === 0 ? undefined : median(values)
    }
    const row =
      ok.length === 0
        ? undefined
        : {
            msgsPerS: med("msgsPerS"),
            peakRssMb: Math.max(...ok.map((r) => r.peakRssMb)),
            ratio: target === "baseline" ? 1 : ratios.length === rounds.length ? median(ratios) : undefined
          }
    summary.set(target, row)
    const last = ok.at(-1)
    console.log(
      `${target.padEnd(9)} ${fmt(row?.msgsPerS).padStart(7)} ${fmt(row?.peakRssMb).padStart(12)} ${fmt(med("nodeCpuUsPerMsg")).padStart(12)} ${fmt(med("imapCpuUsPerMsg")).padStart(12)} ${fmt(med("pgCpuUsPerMsg")).padStart(10)} ${(row?.ratio === undefined ? "-" : fmt(row.ratio, 2)).padStart(6)}  ${
        problems.length === 0
          ? `ok${rounds.length > 1 ? ` in all ${rounds.length} rounds` : ""}: ${last.check.messages} of ${last.count} mails once each, ${last.check.threads} threads = senders`
          : `FAILED: ${problems.join("; ")}`
      }`
    )
  }
  const hub = summary.get(options.store)
  const baseline = summary.get("baseline")
  console.log(
    `RESULT email msgs_per_s=${fmt(hub?.msgsPerS)} baseline_msgs_per_s=${fmt(baseline?.msgsPerS)} ratio=${hub?.ratio === undefined ? "-" : hub.ratio.toFixed(2)}`
  )
  return failed || hub?.ratio === undefined ? 1 : 0
}
