// `pnpm bench chat`: N concurrent visitor sockets on one server process, R messages/s in total
// from random visitors, measured from the visitor's send to (a) the ack, which dialogi sends
// after the commit ("stored"), and (b) the agent socket receiving it ("delivered"), next to a
// plain `ws` relay with the same sockets and protocol shape ("baseline"). Each server runs in
// its own process (its RSS is its own); the visitors and the agent run in this one.
import { execFileSync, fork } from "node:child_process"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { monitorEventLoopDelay, performance } from "node:perf_hooks"
import { parseArgs } from "node:util"
import { Worker } from "node:worker_threads"
import pg from "pg"
import { WebSocket } from "ws"
import { fmt, intReader, parseCli, targetList } from "../shared/cli.mjs"
import { loopDelayMs, syscalls } from "./serverStats.mjs"

const usage = `usage: pnpm bench chat [--sockets 10000] [--rate 1000] [--duration 20] [--rounds 1]
  [--store postgres|pglite] [--pool 10] [--ingest-concurrency 2] [--max-ingest-batch 128]
  [--connect-concurrency 200] [--targets dialogi,baseline]
env: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test); ulimit -n must exceed --sockets;
  BENCH_TRACE=1 (statements per message the server sent), BENCH_CPU_PROF=1 (node --cpu-prof of each
  server into BENCH_CPU_PROF_DIR, default bench/.prof), BENCH_CHAT_NO_ECHO=1 (diagnosis: history
  reads return nothing, so a visitor's own message is not echoed back; shows what that read costs)`

const defaultUrl = "postgres://postgres@127.0.0.1:5432/test"

const parse = (argv) => {
  const { values } = parseArgs({
    args: argv,
    options: {
      sockets: { type: "string", default: "10000" },
      rate: { type: "string", default: "1000" },
      duration: { type: "string", default: "20" },
      store: { type: "string", default: "postgres" },
      pool: { type: "string", default: "10" },
      "ingest-concurrency": { type: "string", default: "2" },
      "max-ingest-batch": { type: "string", default: "128" },
      "connect-concurrency": { type: "string", default: "200" },
      targets: { type: "string", default: "dialogi,baseline" },
      rounds: { type: "string", default: "1" },
      help: { type: "boolean", default: false }
    }
  })
  const int = intReader(values)
  const targets = targetList(values.targets, ["dialogi", "baseline"])
  if (!["postgres", "pglite"].includes(values.store)) throw new Error("--store is postgres or pglite")
  return {
    help: values.help,
    sockets: int("sockets", 1),
    rate: int("rate", 1),
    durationS: int("duration", 1),
    store: values.store,
    pool: int("pool", 1),
    ingestConcurrency: int("ingest-concurrency", 1),
    maxIngestBatch: int("max-ingest-batch", 1),
    connectConcurrency: int("connect-concurrency", 1),
    rounds: int("rounds", 1),
    targets
  }
}

const ms = (x) => (x === Number.POSITIVE_INFINITY ? "inf" : fmt(x, 1))
const percentile = (sorted, p) =>
  sorted.length === 0 ? undefined : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
// How long after the last send the bench waits for the remaining acks and deliveries.
const drainLimitMs = 60_000

/** Both sides' open file limit must hold every socket (plus the database and the runtime). */
const openFileLimit = () => Number(execFileSync("sh", ["-c", "ulimit -n"]).toString().trim())

/** Starts a target process and gives back a request/response channel over IPC. */
const startTarget = (settings) =>
  new Promise((resolve, reject) => {
    const child = fork(new URL("./target.mjs", import.meta.url), [], {
      env: { ...process.env, BENCH_TARGET: JSON.stringify(settings) },
      execArgv: [
        ...(process.env.BENCH_CPU_PROF === "1"
          ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_CPU_PROF_DIR ?? "bench/.prof"}`]
          : []),
        ...(process.env.BENCH_SERVER_NODE_OPTIONS?.split(" ").filter(Boolean) ?? [])
      ],
      stdio: ["ignore", "inherit", "inherit", "ipc"]
    })
    const waiting = []
    child.on("message", (message) => {
      if (message.ready) resolve({ port: message.port, ask })
      else waiting.shift()?.(message)
    })
    child.on("exit", (code) => {
      reject(new Error(`target exited with code ${code}`))
      for (const w of waiting.splice(0)) w({ error: `target exited with code ${code}` })
    })
    const ask = (cmd) =>
      new Promise((answer) => {
        waiting.push(answer)
        child.send({ cmd })
      })
  })

const openSocket = (url) =>
  new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { perMessageDeflate: false })
    socket.once("error", reject)
    socket.once("open", () => resolve(socket))
  })

/** One target: connect every visitor, send at the rate, wait for every delivery, measure. */
const runOne = async (target, options, settings) => {
  const server = await startTarget({ ...settings, target })
  const base = `ws://127.0.0.1:${server.port}`
  const rssIdle = (await server.ask("rss")).rss
  const total = options.rate * options.durationS

  const deliveredMs = []
  const delivered = new Set()
  let duplicates = 0
  // The agent reads the message number and its send time from the text (`m<n>@<epoch ms>`).
  const agent = await openSocket(`${base}/agent`)
  agent.on("message", (data) => {
    const at = performance.timeOrigin + performance.now()
    const text = data.toString()
    const split = text.indexOf("@")
    const n = Number(text.slice(1, split))
    if (delivered.has(n)) duplicates += 1
    else {
      delivered.add(n)
      deliveredMs.push(at - Number(text.slice(split + 1)))
    }
  })

  const load = new Worker(new URL("./visitors.mjs", import.meta.url), {
    workerData: {
      url: `${base}/chat`,
      sockets: options.sockets,
      connectConcurrency: options.connectConcurrency,
      rate: options.rate,
      durationS: options.durationS,
      drainMs: drainLimitMs
    }
  })
  const failed = new Promise((_, reject) => {
    load.once("error", reject)
    load.once("exit", (code) => reject(new Error(`visitor worker exited with code ${code}`)))
  })
  // Only a failure before the worker's last answer matters; its exit at the end is expected.
  failed.catch(() => undefined)
  const fromLoad = () => Promise.race([new Promise((resolve) => load.once("message", resolve)), failed])
  const { connected, connectS } = await fromLoad()
  const rssConnected = (await server.ask("rss")).rss

  // Both sides measure their event-loop delay and CPU over the sending and the drain after it
  // (the bench's CPU is its whole process: the visitors' worker and this thread).
  await server.ask("mark")
  const agentLoop = monitorEventLoopDelay({ resolution: 10 })
  agentLoop.enable()
  const clientCpu = process.cpuUsage()
  const clientIo = syscalls()
  load.postMessage("go")
  const visitorsDone = await fromLoad()
  const drainStart = performance.now()
  while (delivered.size < total && performance.now() - drainStart < drainLimitMs) await sleep(20)
  const clientCpuUs = process.cpuUsage(clientCpu)
  const clientIoEnd = syscalls()
  agentLoop.disable()
  const serverStats = await server.ask("stats")
  const rssLoaded = (await server.ask("rss")).rss

  load.postMessage("close")
  await fromLoad()
  await load.terminate()
  agent.terminate()
  const final = await server.ask("stop")
  const { storedMs, echoedMs, refused } = visitorsDone
  echoedMs.sort((a, b) => a - b)
  // Percentiles are over everything sent: a message never acked or delivered counts as
  // infinitely late, so a collapse cannot hide behind the few that made it.
  for (let i = storedMs.length + refused; i < total; i++) storedMs.push(Number.POSITIVE_INFINITY)
  for (let i = deliveredMs.length; i < total; i++) deliveredMs.push(Number.POSITIVE_INFINITY)
  storedMs.sort((a, b) => a - b)
  deliveredMs.sort((a, b) => a - b)
  const sendS = visitorsDone.sendS
  return {
    target,
    sockets: connected,
    connectPerS: connected / connectS,
    sent: total,
    sendRate: total / sendS,
    stored: storedMs.length,
    delivered: delivered.size,
    lost: total - delivered.size,
    duplicates,
    refused,
    echoed: echoedMs.length,
    echoedP50: percentile(echoedMs, 50),
    echoedP99: percentile(echoedMs, 99),
    storedP50: percentile(storedMs, 50),
    storedP99: percentile(storedMs, 99),
    deliveredP50: percentile(deliveredMs, 50),
    deliveredP99: percentile(deliveredMs, 99),
    deliveredMax: deliveredMs.at(-1),
    kbPerSocket: (rssConnected - rssIdle) / 1024 / connected,
    rssIdleMb: rssIdle / 1024 / 1024,
    rssLoadedMb: rssLoaded / 1024 / 1024,
    peakRssMb: final.maxRssMb,
    server: serverStats,
    client: {
      loopP99Ms: visitorsDone.loopP99Ms,
      loopMaxMs: visitorsDone.loopMaxMs,
      agentLoopP99Ms: loopDelayMs(agentLoop.percentile(99)),
      cpuUsPerMsg: (clientCpuUs.user + clientCpuUs.system) / total,
      writesPerMsg: (clientIoEnd.writes - clientIo.writes) / total,
      readsPerMsg: (clientIoEnd.reads - clientIo.reads) / total
    }
  }
}

/** Median of a list of numbers (a middle one, so "inf" survives); undefined when empty. */
const median = (xs) => {
  const sorted = xs.filter((x) => typeof x === "number" && !Number.isNaN(x)).sort((a, b) => a - b)
  return sorted.length === 0 ? undefined : sorted[Math.floor((sorted.length - 1) / 2)]
}

/** Every numeric field of a list of results (nested objects too) replaced by its median. */
const medians = (results) => {
  const [first] = results
  const out = {}
  for (const key of Object.keys(first)) {
    const value = first[key]
    if (typeof value === "number" || value === undefined) out[key] = median(results.map((r) => r[key]))
    else if (value !== null && typeof value === "object") out[key] = medians(results.map((r) => r[key] ?? {}))
    else out[key] = value
  }
  return out
}

const describe = (r) =>
  `${r.target.padEnd(8)} connect ${fmt(r.connectPerS)}/s | sent ${r.sent} at ${fmt(r.sendRate)}/s | stored (ack) p50 ${ms(r.storedP50)} ms p99 ${ms(r.storedP99)} ms | delivered p50 ${ms(r.deliveredP50)} ms p99 ${ms(r.deliveredP99)} ms max ${ms(r.deliveredMax)} ms | echoed ${r.echoed}${r.echoed > 0 ? ` p50 ${ms(r.echoedP50)} ms p99 ${ms(r.echoedP99)} ms` : ""} | not delivered within 60 s: ${r.lost}, dup ${r.duplicates} refused ${r.refused} | RSS idle ${fmt(r.rssIdleMb)} MB, ${fmt(r.kbPerSocket, 1)} KB/socket, loaded ${fmt(r.rssLoadedMb)} MB, peak ${fmt(r.peakRssMb)} MB`

/** Where the time went, as the two processes saw it (see serverStats.mjs). */
const describeInside = ({ server: s, client: c }) => {
  const parts = [
    `server loop delay p50 ${ms(s.loopP50Ms)} p99 ${ms(s.loopP99Ms)} max ${ms(s.loopMaxMs)} ms`,
    `server CPU ${fmt(s.nodeCpuUsPerMsg)} us/msg (GC ${fmt(s.gcUsPerMsg)}), syscalls ${fmt(s.writesPerMsg, 1)} writes ${fmt(s.readsPerMsg, 1)} reads /msg`
  ]
  if (s.pgCpuUsPerMsg !== undefined) parts.push(`PostgreSQL CPU ${fmt(s.pgCpuUsPerMsg)} us/msg`)
  if (s.statementsPerMsg !== undefined && s.ingestP50Ms !== undefined)
    parts.push(
      `${fmt(s.statementsPerMsg, 1)} statements/msg`,
      `ingest p50 ${ms(s.ingestP50Ms)} p99 ${ms(s.ingestP99Ms)} ms`,
      `COMMIT p50 ${ms(s.commitP50Ms)} p99 ${ms(s.commitP99Ms)} ms`,
      `transaction's wait for a pool connection p50 ${ms(s.poolWaitP50Ms)} p99 ${ms(s.poolWaitP99Ms)} ms (max ${fmt(s.poolWaitingMax)} waiting)`,
      `batches ${fmt(s.batches?.count)} (mean ${fmt(s.batches?.mean, 1)}, p50 ${fmt(s.batches?.p50)}, max ${fmt(s.batches?.max)} msgs)`,
      `stream after ingest p50 ${ms(s.streamLagP50Ms)} p99 ${ms(s.streamLagP99Ms)} ms`
    )
  parts.push(
    `visitors' loop delay p99 ${ms(c.loopP99Ms)} max ${ms(c.loopMaxMs)} ms, agent's p99 ${ms(c.agentLoopP99Ms)} ms, bench CPU ${fmt(c.cpuUsPerMsg)} us/msg, syscalls ${fmt(c.writesPerMsg, 1)} writes ${fmt(c.readsPerMsg, 1)} reads /msg`
  )
  return `         ${parts.join(" | ")}`
}

export const main = async (argv) => {
  const { options, exitCode } = parseCli(argv, parse, usage)
  if (!options) return exitCode
  const limit = openFileLimit()
  if (limit < options.sockets + 1_000) {
    console.error(
      `ulimit -n is ${limit}; ${options.sockets} sockets need at least ${options.sockets + 1_000} (ulimit -n 65536)`
    )
    return 2
  }
  console.log(
    `chat bench: ${options.sockets} sockets, ${options.rate} msgs/s for ${options.durationS} s, dialogi on ${options.store}, ${options.rounds} round(s)`
  )
  const adminUrl = process.env.DATABASE_URL ?? defaultUrl
  const byTarget = new Map(options.targets.map((t) => [t, []]))
  const failures = []
  for (let round = 1; round <= options.rounds; round++)
    for (const target of options.targets) {
      let cleanup = async () => {}
      const settings = {
        pool: options.pool,
        store: options.store,
        ingestConcurrency: options.ingestConcurrency,
        maxIngestBatch: options.maxIngestBatch
      }
      if (target === "dialogi" && options.store === "postgres") {
        const admin = new pg.Client({ connectionString: adminUrl })
        await admin.connect()
        const database = `dialogi_bench_chat_${Date.now()}`
        await admin.query(`CREATE DATABASE ${database}`)
        const url = new URL(adminUrl)
        url.pathname = `/${database}`
        settings.connectionString = url.toString()
        cleanup = async () => {
          await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
          await admin.end()
        }
      } else if (target === "dialogi") {
        settings.dataDir = await mkdtemp(join(tmpdir(), "dialogi-bench-chat-"))
        cleanup = () => rm(settings.dataDir, { recursive: true, force: true })
      }
      try {
        const r = await runOne(target, options, settings)
        byTarget.get(target).push(r)
        if (r.lost > 0 || r.duplicates > 0) failures.push(r)
        console.log(`${options.rounds > 1 ? `round ${round} ` : ""}${describe(r)}`)
        console.log(describeInside(r))
        for (const line of r.server.trace ?? []) console.log(`           ${line}`)
      } catch (error) {
        console.log(`${target}: FAILED ${error.message}`)
        failures.push({ target, error: error.message })
      } finally {
        await cleanup().catch((e) => console.error(e))
      }
    }
  const summary = (target) => {
    const runs = byTarget.get(target) ?? []
    return runs.length === 0 ? undefined : medians(runs)
  }
  const ours = summary("dialogi")
  const base = summary("baseline")
  if (options.rounds > 1) {
    console.log(`medians of ${options.rounds} rounds:`)
    for (const r of [ours, base]) if (r) console.log(`${describe(r)}\n${describeInside(r)}`)
  }
  console.log(
    `RESULT chat sockets=${ours?.sockets ?? "-"} p99_ms=${ours ? ms(ours.deliveredP99) : "-"} baseline_p99_ms=${base ? ms(base.deliveredP99) : "-"} ratio=${ours && base ? (ours.deliveredP99 === Number.POSITIVE_INFINITY ? "inf" : (ours.deliveredP99 / base.deliveredP99).toFixed(2)) : "-"} rss_mb=${fmt(ours?.peakRssMb)}`
  )
  return failures.length > 0 ? 1 : 0
}
