// What the chat bench's server process measures about itself between "mark" and "stats":
// event-loop delay, its own CPU and its PostgreSQL backends' CPU, statements sent through `pg`
// (COMMIT timed on its own), how long `ingest` took as the adapter saw it, and how long after
// that the hub's event stream handed the message to the agent side. Numbers per message are
// over the messages stored in the window.
import { readFileSync } from "node:fs"
import { monitorEventLoopDelay, PerformanceObserver, performance } from "node:perf_hooks"
import pg from "pg"
import { backendCpuMs } from "../ingest/driver.mjs"

const percentile = (values, p) => {
  if (values.length === 0) return undefined
  const sorted = Float64Array.from(values).sort()
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]
}

/** Counts and times the statements every `pg` client of this process sends (the store's pool too). */
const statements = {
  total: 0,
  commitMs: [],
  poolWaitMs: [],
  poolWaiting: 0,
  counting: false,
  byText: new Map()
}
// BENCH_TRACE=1: which statements the server sent in the measured window, with counts.
const trace = process.env.BENCH_TRACE === "1"
const countStatements = () => {
  if (statements.counting) return
  statements.counting = true
  const original = pg.Client.prototype.query
  pg.Client.prototype.query = function (config, ...rest) {
    statements.total++
    const text = typeof config === "string" ? config : (config?.text ?? config?.name ?? "?")
    if (trace) {
      const key = String(text).replace(/\s+/g, " ").trim().slice(0, 80)
      statements.byText.set(key, (statements.byText.get(key) ?? 0) + 1)
    }
    const result = original.call(this, config, ...rest)
    // The driver sends a transaction's last statements together with its COMMIT.
    if (/COMMIT\s*$/.test(String(text)) && typeof result?.then === "function") {
      const started = performance.now()
      result.then(
        () => statements.commitMs.push(performance.now() - started),
        () => undefined
      )
    }
    return result
  }
  // How long a transaction waited for a pool connection (reads queue in the same pool), and how
  // many callers were waiting at those moments.
  const connect = pg.Pool.prototype.connect
  pg.Pool.prototype.connect = function (...args) {
    if (args.length > 0) return connect.apply(this, args)
    statements.poolWaiting = Math.max(statements.poolWaiting, this.waitingCount)
    const started = performance.now()
    const result = connect.call(this)
    result.then(
      () => statements.poolWaitMs.push(performance.now() - started),
      () => undefined
    )
    return result
  }
}

/** System calls this process made so far that write (write, writev, sendmsg...) and read. */
export const syscalls = () => {
  try {
    const io = readFileSync("/proc/self/io", "utf8")
    const field = (name) => Number(io.match(new RegExp(`^${name}: (\\d+)`, "m"))?.[1])
    return { writes: field("syscw"), reads: field("syscr") }
  } catch {
    return { writes: undefined, reads: undefined }
  }
}

// The histogram records the interval between its timer's runs: the delay is what exceeds it.
const loopResolutionMs = 10
/** Event-loop delay in ms from a monitorEventLoopDelay value in ns. */
export const loopDelayMs = (ns) => Math.max(0, ns / 1e6 - loopResolutionMs)

export const makeServerStats = ({ connectionString, database }) => {
  countStatements()
  const loop = monitorEventLoopDelay({ resolution: loopResolutionMs })
  loop.enable()
  // Time the server spent in garbage collection pauses.
  let gcMs = 0
  const gc = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcMs += entry.duration
  })
  gc.observe({ entryTypes: ["gc"] })
  const ingestMs = []
  const streamLagMs = []
  /** providerMessageId -> when its ingest resolved, until the event stream has it. */
  const ingestedAt = new Map()
  let window
  let messages = 0

  const admin = connectionString ? new pg.Client({ connectionString }) : undefined
  const adminReady = admin?.connect()

  return {
    /** Wraps the adapter context's ingest so its latency is measured where the adapter awaits it. */
    timeIngest: (ingest) => async (envelope) => {
      const started = performance.now()
      const receipt = await ingest(envelope)
      const now = performance.now()
      messages++
      ingestMs.push(now - started)
      ingestedAt.set(envelope.providerMessageId, now)
      return receipt
    },
    /** The baseline relayed one message. */
    count: () => {
      messages++
    },
    /** The agent side received a message from the hub's event stream. */
    streamed: (providerMessageId) => {
      const at = ingestedAt.get(providerMessageId)
      if (at === undefined) return
      ingestedAt.delete(providerMessageId)
      streamLagMs.push(performance.now() - at)
    },
    mark: async () => {
      await adminReady
      loop.reset()
      messages = 0
      gcMs = 0
      ingestMs.length = 0
      streamLagMs.length = 0
      statements.commitMs.length = 0
      statements.poolWaitMs.length = 0
      statements.poolWaiting = 0
      statements.byText.clear()
      window = {
        cpu: process.cpuUsage(),
        io: syscalls(),
        statements: statements.total,
        pgCpuMs: admin ? await backendCpuMs(admin, database) : undefined
      }
      return { marked: true }
    },
    stats: async () => {
      const cpu = process.cpuUsage(window.cpu)
      const io = syscalls()
      const pgCpuMs = admin ? await backendCpuMs(admin, database) : undefined
      const n = messages
      let batches
      if (admin) {
        // Each group-commit batch is one transaction: its messages share an xmin.
        const { rows } = await admin.query(
          "SELECT count(*)::int AS n FROM dialogi_messages GROUP BY xmin::text::bigint"
        )
        const sizes = rows.map((r) => r.n)
        batches = {
          count: sizes.length,
          mean: sizes.reduce((a, b) => a + b, 0) / Math.max(1, sizes.length),
          p50: percentile(sizes, 0.5),
          max: Math.max(0, ...sizes)
        }
      }
      const result = {
        messages: n,
        loopP50Ms: loopDelayMs(loop.percentile(50)),
        loopP99Ms: loopDelayMs(loop.percentile(99)),
        loopMaxMs: loopDelayMs(loop.max),
        nodeCpuUsPerMsg: n ? (cpu.user + cpu.system) / n : undefined,
        gcUsPerMsg: n ? (gcMs * 1000) / n : undefined,
        pgCpuUsPerMsg: n && pgCpuMs !== undefined ? ((pgCpuMs - window.pgCpuMs) * 1000) / n : undefined,
        writesPerMsg: n ? (io.writes - window.io.writes) / n : undefined,
        readsPerMsg: n ? (io.reads - window.io.reads) / n : undefined,
        statementsPerMsg: n ? (statements.total - window.statements) / n : undefined,
        ingestP50Ms: percentile(ingestMs, 0.5),
        ingestP99Ms: percentile(ingestMs, 0.99),
        commitP50Ms: percentile(statements.commitMs, 0.5),
        commitP99Ms: percentile(statements.commitMs, 0.99),
        poolWaitP50Ms: percentile(statements.poolWaitMs, 0.5),
        poolWaitP99Ms: percentile(statements.poolWaitMs, 0.99),
        poolWaitingMax: statements.poolWaiting,
        streamLagP50Ms: percentile(streamLagMs, 0.5),
        streamLagP99Ms: percentile(streamLagMs, 0.99),
        batches,
        ...(trace
          ? {
              trace: [...statements.byText]
                .sort((a, b) => b[1] - a[1])
                .slice(0, 25)
                .map(([text, count]) => `${(count / Math.max(1, n)).toFixed(3)}/msg ${text}`)
            }
          : {})
      }
      return result
    },
    close: async () => {
      loop.disable()
      gc.disconnect()
      await admin?.end()
    }
  }
}
