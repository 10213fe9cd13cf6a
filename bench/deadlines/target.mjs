// One deadlines benchmark target in its own process (so peak RSS is its own): dialogi's
// deadline table (`dialogi`) or pg-boss delayed jobs (`pgboss`). Settings come in BENCH_TARGET;
// one JSON result goes back to the parent over IPC.
import { postgresStore } from "@dialogi/store-postgres"
import { Effect, Exit, Scope } from "effect"
import { startTimedPgBoss } from "../shared/pgboss.mjs"

const settings = JSON.parse(process.env.BENCH_TARGET ?? "{}")
const rssMb = () => process.resourceUsage().maxRSS / 1024
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** Runs `f(i)` for i in [0, n), `concurrency` at a time. */
const drive = async (n, concurrency, f) => {
  let next = 0
  const slot = async () => {
    while (next < n) await f(next++)
  }
  await Promise.all(Array.from({ length: Math.min(n, concurrency) }, slot))
}

const percentile = (sorted, p) =>
  sorted.length === 0 ? undefined : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]

/**
 * The workload, the same for both targets: `n - soon` deadlines due between 1 h and 30 days out,
 * then `soon` deadlines due from 4 s after their arming phase starts, spread over `window` ms
 * (in arming order, so each is armed well before it is due). Returns the due time of item i.
 */
const plan = (n, soon, windowMs) => {
  const far = n - soon
  return {
    far,
    farDue: (i, base) => base + 3_600_000 + Math.floor(((i * 7919) % far) * ((30 * 86_400_000) / far)),
    soonDue: (i, base) => base + 4000 + Math.floor((i * windowMs) / soon)
  }
}

const dialogi = async () => {
  const store = await postgresStore({
    connectionString: settings.connectionString,
    pool: { max: settings.poolSize }
  })
  const fired = new Map()
  const lateness = []
  const claimMs = []
  const scope = Effect.runSync(Scope.make())
  await Effect.runPromise(
    Scope.extend(
      store.runDeadlines(
        "bench",
        (d) =>
          Effect.sync(() => {
            lateness.push(Date.now() - d.dueAt.getTime())
            fired.set(d.key, (fired.get(d.key) ?? 0) + 1)
          }),
        {
          concurrency: settings.claimers,
          onClaim: (count, ms) => {
            if (count > 0) claimMs.push(ms)
          }
        }
      ),
      scope
    )
  )
  const arm = (key, dueAt) =>
    Effect.runPromise(
      store.transaction((t) =>
        t.armDeadline({ key, kind: "bench", dueAt: new Date(dueAt), payload: { n: 1 } })
      )
    )
  return {
    arm,
    fired,
    lateness,
    claimMs,
    close: async () => {
      await Effect.runPromise(Scope.close(scope, Exit.void))
      await Effect.runPromise(store.close)
    }
  }
}

const pgboss = async () => {
  const { boss, pool, claimMs } = await startTimedPgBoss(settings, "bench")
  const fired = new Map()
  const lateness = []
  // pg-boss at its best for this: the 0.5 s polling floor, batches of 50 (as dialogi claims)
  // and continuous fetching while batches come back full.
  await boss.work(
    "bench",
    {
      pollingIntervalSeconds: 0.5,
      batchSize: 50,
      burstWhenBatchFull: true,
      localConcurrency: settings.claimers
    },
    async (jobs) => {
      const now = Date.now()
      for (const job of jobs) {
        lateness.push(now - job.data.dueAt)
        fired.set(job.data.key, (fired.get(job.data.key) ?? 0) + 1)
      }
    }
  )
  const arm = (key, dueAt) => boss.send("bench", { key, dueAt }, { startAfter: new Date(dueAt) })
  return {
    arm,
    fired,
    lateness,
    claimMs,
    close: async () => {
      await boss.stop({ graceful: true, timeout: 5000, close: false })
      await pool.end()
    }
  }
}

const main = async () => {
  const { n, soon, windowMs, concurrency } = settings
  const target = settings.target === "dialogi" ? await dialogi() : await pgboss()
  const { far, farDue, soonDue } = plan(n, soon, windowMs)
  const t0 = Date.now()
  await drive(far, concurrency, (i) => target.arm(`far:${i}`, farDue(i, t0)))
  const soonBase = Date.now()
  const soonDues = []
  await drive(soon, concurrency, (i) => {
    const due = soonDue(i, soonBase)
    soonDues.push(due)
    return target.arm(`soon:${i}`, due)
  })
  const armMs = Date.now() - t0
  const lastDue = Math.max(...soonDues)
  const armedLate = soonDues.length > 0 ? Date.now() > soonBase + 4000 : false
  const giveUp = lastDue + 30_000
  while (target.fired.size < soon && Date.now() < giveUp) await sleep(50)
  await sleep(1000)
  const lateness = Float64Array.from(target.lateness).sort()
  const claimMs = Float64Array.from(target.claimMs).sort()
  let duplicates = 0
  for (const count of target.fired.values()) if (count > 1) duplicates++
  const farFired = [...target.fired.keys()].filter((k) => k.startsWith("far:")).length
  await target.close()
  return {
    target: settings.target,
    n,
    soon,
    armMs,
    armedPerS: (n * 1000) / armMs,
    armingOverlappedDue: armedLate,
    fired: target.fired.size,
    duplicates,
    farFired,
    lateP50: percentile(lateness, 50),
    lateP99: percentile(lateness, 99),
    lateMax: lateness.length > 0 ? lateness[lateness.length - 1] : undefined,
    claims: claimMs.length,
    claimP50: percentile(claimMs, 50),
    claimP99: percentile(claimMs, 99),
    rssMb: rssMb()
  }
}

main().then(
  (result) => {
    process.send?.(result)
    process.exit(0)
  },
  (error) => {
    process.send?.({ target: settings.target, error: String(error?.stack ?? error) })
    process.exit(1)
  }
)
