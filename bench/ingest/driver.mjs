// Drives a workload through an async `ingest` function with a fixed number of requests in
// flight, recording the latency of each call.
import { readFileSync } from "node:fs"

/**
 * Runs `ingest(envelope)` for every envelope, `concurrency` at a time (each slot takes the next
 * envelope as soon as its previous call settles). Returns wall time, per-call latencies and the
 * results in workload order.
 */
export const drive = async (envelopes, concurrency, ingest, { serverCpuMs } = {}) => {
  const latencies = new Float64Array(envelopes.length)
  const results = new Array(envelopes.length)
  let next = 0
  const slot = async () => {
    while (next < envelopes.length) {
      const i = next++
      const t0 = performance.now()
      results[i] = await ingest(envelopes[i])
      latencies[i] = performance.now() - t0
    }
  }
  const started = performance.now()
  const io = selfIo()
  const cpu = process.cpuUsage()
  const pgCpu = await serverCpuMs?.()
  await Promise.all(Array.from({ length: Math.min(concurrency, envelopes.length) }, slot))
  const wallMs = performance.now() - started
  const used = process.cpuUsage(cpu)
  const ioAfter = selfIo()
  const pgAfter = await serverCpuMs?.()
  return {
    wallMs,
    nodeSysCpuMs: used.system / 1000,
    writtenBytes: io && ioAfter ? ioAfter.wchar - io.wchar : undefined,
    writeCalls: io && ioAfter ? ioAfter.syscw - io.syscw : undefined,
    latencies,
    results,
    nodeCpuMs: (used.user + used.system) / 1000,
    pgCpuMs: pgCpu === undefined || pgAfter === undefined ? undefined : pgAfter - pgCpu
  }
}

/**
 * Bytes this process has written and its write system calls (Linux /proc/self/io; sockets
 * included), or undefined elsewhere. On loopback the kernel does the receiving side's TCP work
 * inside the sender's write, so bytes sent to the database are CPU the target pays for.
 */
const selfIo = () => {
  try {
    const text = readFileSync("/proc/self/io", "utf8")
    const field = (name) => Number(text.match(new RegExp(`^${name}: (\\d+)`, "m"))?.[1])
    return { wchar: field("wchar"), syscw: field("syscw") }
  } catch {
    return undefined
  }
}

const ticksPerMs = 100 / 1000 // USER_HZ is 100 on Linux

/**
 * CPU time used so far by the PostgreSQL backends serving `database` (found in
 * pg_stat_activity, read from Linux /proc), in ms; undefined where /proc is missing. Throughput
 * on a shared 2-core machine moves with whatever else runs; CPU time per message is the steadier
 * measure of what a change saved. Backends must live through the run (a pool's do).
 */
export const backendCpuMs = async (client, database) => {
  const { rows } = await client.query("SELECT pid FROM pg_stat_activity WHERE datname = $1", [database])
  try {
    let ticks = 0
    for (const { pid } of rows) {
      let stat
      try {
        stat = readFileSync(`/proc/${pid}/stat`, "utf8")
      } catch {
        continue
      }
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
      ticks += Number(fields[11]) + Number(fields[12])
    }
    return ticks / ticksPerMs
  } catch {
    return undefined
  }
}

const percentile = (sorted, p) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]

/** Throughput and latency summary of a {@link drive} run. */
export const summarize = ({
  wallMs,
  latencies,
  nodeCpuMs,
  nodeSysCpuMs,
  pgCpuMs,
  writtenBytes,
  writeCalls
}) => {
  const sorted = Float64Array.from(latencies).sort()
  return {
    nodeCpuUsPerMsg: (nodeCpuMs * 1000) / latencies.length,
    nodeSysCpuUsPerMsg: (nodeSysCpuMs * 1000) / latencies.length,
    bytesPerMsg: writtenBytes === undefined ? undefined : writtenBytes / latencies.length,
    writesPerMsg: writeCalls === undefined ? undefined : writeCalls / latencies.length,
    pgCpuUsPerMsg: pgCpuMs === undefined ? undefined : (pgCpuMs * 1000) / latencies.length,
    count: latencies.length,
    wallMs,
    msgsPerS: latencies.length / (wallMs / 1000),
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    maxMs: sorted[sorted.length - 1]
  }
}
