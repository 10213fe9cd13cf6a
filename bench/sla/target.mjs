// One SLA benchmark target in its own process (so peak RSS is its own): dialogi's SLA engine on
// the deadline table (`dialogi`) or bare pg-boss delayed jobs (`pgboss`). Settings come in
// BENCH_TARGET; one JSON result goes back to the parent over IPC.
import { createHub } from "@dialogi/core"
import { postgresStore } from "@dialogi/store-postgres"
import pg from "pg"
import { startTimedPgBoss } from "../shared/pgboss.mjs"

const settings = JSON.parse(process.env.BENCH_TARGET ?? "{}")
const rssMb = () => process.resourceUsage().maxRSS / 1024
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const HOUR = 3_600_000

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

// Conversation i: the first `far` are armed first and get two clocks (first response and
// resolution) due business hours or days out; the last `soon` are armed last and get one clock
// due `dueInMs` + 0-45 s after arming (tag soon0..soon9, 5 s apart): all within about a minute.
const conversationId = (i) => `cv_bench_${String(i).padStart(8, "0")}`

/** Inserts the conversations the clocks are started on (not timed: the bench measures arming). */
const seedConversations = async (connectionString, count, soon) => {
  const client = new pg.Client({ connectionString })
  await client.connect()
  try {
    const step = 100_000
    for (let from = 0; from < count; from += step) {
      const to = Math.min(count, from + step) - 1
      await client.query(
        `INSERT INTO dialogi_conversations (id, contact_id, status, assignee_kind, assignee_id, priority, tags,
           external_refs, last_inbound_channel, last_inbound_at, last_message_at, created_at, updated_at)
         SELECT 'cv_bench_' || lpad(i::text, 8, '0'), 'ct_bench_' || i, 'open', 'none', NULL, 'normal',
           CASE WHEN i >= $3 THEN ARRAY['soon' || (i % 10)] ELSE ARRAY[]::text[] END, '[]'::jsonb, 'email', now(), now(), now(), now()
         FROM generate_series($1::int, $2::int) AS i`,
        [from, to, count - soon]
      )
    }
    await client.query("ANALYZE dialogi_conversations")
  } finally {
    await client.end()
  }
}

const weekdays = ["monday", "tuesday", "wednesday", "thursday", "friday"]

const dialogi = async () => {
  const { count, soon, dueInMs, batch, concurrency, claimers } = settings
  const store = await postgresStore({
    connectionString: settings.connectionString,
    pool: { max: settings.poolSize }
  })
  const t0 = Date.now()
  await seedConversations(settings.connectionString, count, soon)
  const setupMs = Date.now() - t0
  const claimMs = []
  const hub = await createHub({
    store,
    log: () => {},
    sla: {
      policies: [
        // Due within the minute: the clocks whose firing is measured.
        ...Array.from({ length: 10 }, (_, k) => ({
          id: `soon${k}`,
          match: { tags: [`soon${k}`] },
          targets: { firstResponse: dueInMs + k * 5000 },
          warnAt: 0.5
        })),
        // Everyone else: office hours in Helsinki, first response in 8 business hours,
        // resolution in 5 business days; due hours to weeks out.
        {
          id: "standard",
          targets: { firstResponse: 8 * HOUR, resolution: 40 * HOUR },
          calendar: {
            timeZone: "Europe/Helsinki",
            weekly: Object.fromEntries(weekdays.map((d) => [d, ["09:00-17:00"]]))
          }
        }
      ],
      deadlines: {
        concurrency: claimers,
        onClaim: (claimed, ms) => {
          if (claimed > 0) claimMs.push(ms)
        }
      }
    }
  })
  const far = count - soon
  const arm = async (from, to) => {
    const ids = []
    for (let i = from; i < to; i++) ids.push(conversationId(i))
    const started = await hub.sla.startClocks(ids)
    if (started !== ids.length) throw new Error(`startClocks started ${started} of ${ids.length}`)
  }
  const armStart = Date.now()
  await drive(Math.ceil(far / batch), concurrency, (b) => arm(b * batch, Math.min(far, (b + 1) * batch)))
  const soonStart = Date.now()
  await drive(Math.ceil(soon / batch), concurrency, (b) =>
    arm(far + b * batch, Math.min(count, far + (b + 1) * batch))
  )
  const armMs = Date.now() - armStart
  const armingOverlappedDue = Date.now() > soonStart + dueInMs * 0.5

  // Firings are the hub's own events: sla.breached carries the due time, and its `at` is the
  // database's now() in the transaction that claimed the deadline.
  const lateness = []
  const seen = new Map()
  let farFired = 0
  let duplicates = 0
  let breaches = 0
  let cursor = 0
  const giveUp = soonStart + dueInMs + 45_000 + 60_000
  const soonFrom = conversationId(far)
  while (breaches < soon && Date.now() < giveUp) {
    const page = await hub.events.after(cursor, 5000)
    if (page.length === 0) {
      await sleep(200)
      continue
    }
    cursor = page[page.length - 1].seq
    for (const e of page) {
      const tag = e.body._tag
      if (tag !== "sla.breached" && tag !== "sla.warning") continue
      if (e.conversationId < soonFrom) farFired++
      const key = `${tag} ${e.conversationId}`
      if (seen.has(key)) duplicates++
      seen.set(key, true)
      if (tag === "sla.breached") {
        breaches++
        lateness.push(e.at.getTime() - e.body.dueAt)
      }
    }
  }
  // Anything that fires twice shows up in the next second.
  await sleep(1500)
  for (const e of await hub.events.after(cursor, 50_000)) {
    const tag = e.body._tag
    if (tag === "sla.breached" || tag === "sla.warning") {
      if (seen.has(`${tag} ${e.conversationId}`)) duplicates++
      else if (e.conversationId < soonFrom) farFired++
    }
  }
  const warnings = [...seen.keys()].filter((k) => k.startsWith("sla.warning")).length
  await hub.close()
  const sorted = Float64Array.from(lateness).sort()
  const claims = Float64Array.from(claimMs).sort()
  return {
    clocks: 2 * far + soon,
    setupMs,
    armMs,
    armingOverlappedDue,
    fired: breaches,
    expected: soon,
    firedWhat: `breaches; ${warnings} warnings`,
    duplicates,
    farFired,
    lateness: sorted,
    claims
  }
}

const pgboss = async () => {
  const { count, soon, dueInMs, batch, concurrency, claimers } = settings
  const { boss, pool, claimMs } = await startTimedPgBoss(settings, "sla")
  const fired = new Map()
  const lateness = []
  // pg-boss at its best for this: the 0.5 s polling floor, batches of 50 and continuous
  // fetching while batches come back full.
  await boss.work(
    "sla",
    { pollingIntervalSeconds: 0.5, batchSize: 50, burstWhenBatchFull: true, localConcurrency: claimers },
    async (jobs) => {
      const now = Date.now()
      for (const job of jobs) {
        lateness.push(now - job.data.dueAt)
        fired.set(job.data.key, (fired.get(job.data.key) ?? 0) + 1)
      }
    }
  )
  const far = count - soon
  // The same batches as the dialogi target: `batch` jobs per insert.
  // One job per clock: two per far conversation (first response, resolution), one per soon one.
  const insert = (from, to, dues) => {
    const jobs = []
    for (let i = from; i < to; i++)
      for (const [suffix, dueAt] of dues(i))
        jobs.push({ data: { key: `${conversationId(i)}${suffix}`, dueAt }, startAfter: new Date(dueAt) })
    return boss.insert("sla", jobs)
  }
  const armStart = Date.now()
  await drive(Math.ceil(far / batch), concurrency, (b) =>
    insert(b * batch, Math.min(far, (b + 1) * batch), (i) => [
      [":first", armStart + HOUR + ((i * 7919) % far) * 2_000],
      [":resolution", armStart + 5 * HOUR + ((i * 7919) % far) * 2_000]
    ])
  )
  const soonStart = Date.now()
  await drive(Math.ceil(soon / batch), concurrency, (b) =>
    insert(far + b * batch, Math.min(count, far + (b + 1) * batch), (i) => [
      ["", Date.now() + dueInMs + (i % 10) * 5000]
    ])
  )
  const armMs = Date.now() - armStart
  const armingOverlappedDue = Date.now() > soonStart + dueInMs * 0.5
  const giveUp = soonStart + dueInMs + 45_000 + 60_000
  while (fired.size < soon && Date.now() < giveUp) await sleep(50)
  await sleep(1500)
  let duplicates = 0
  for (const n of fired.values()) if (n > 1) duplicates++
  const soonFrom = conversationId(far)
  const farFired = [...fired.keys()].filter((k) => k < soonFrom).length
  await boss.stop({ graceful: true, timeout: 5000, close: false })
  await pool.end()
  return {
    clocks: 2 * far + soon,
    armMs,
    armingOverlappedDue,
    fired: fired.size - farFired,
    expected: soon,
    firedWhat: "jobs",
    duplicates,
    farFired,
    lateness: Float64Array.from(lateness).sort(),
    claims: Float64Array.from(claimMs).sort()
  }
}

const main = async () => {
  const run = settings.target === "dialogi" ? await dialogi() : await pgboss()
  const { lateness, claims, ...rest } = run
  return {
    target: settings.target,
    ...rest,
    armedPerS: (run.clocks * 1000) / run.armMs,
    lateP50: percentile(lateness, 50),
    lateP99: percentile(lateness, 99),
    lateMax: lateness.length > 0 ? lateness[lateness.length - 1] : undefined,
    claims: claims.length,
    claimP50: percentile(claims, 50),
    claimP99: percentile(claims, 99),
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
