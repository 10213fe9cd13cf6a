// Drives a workload through an async `ingest` function with a fixed number of requests in
// flight, recording the latency of each call.

/**
 * Runs `ingest(envelope)` for every envelope, `concurrency` at a time (each slot takes the next
 * envelope as soon as its previous call settles). Returns wall time, per-call latencies and the
 * results in workload order.
 */
export const drive = async (envelopes, concurrency, ingest) => {
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
  await Promise.all(Array.from({ length: Math.min(concurrency, envelopes.length) }, slot))
  const wallMs = performance.now() - started
  return { wallMs, latencies, results }
}

const percentile = (sorted, p) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]

/** Throughput and latency summary of a {@link drive} run. */
export const summarize = ({ wallMs, latencies }) => {
  const sorted = Float64Array.from(latencies).sort()
  return {
    count: latencies.length,
    wallMs,
    msgsPerS: latencies.length / (wallMs / 1000),
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    maxMs: sorted[sorted.length - 1]
  }
}
