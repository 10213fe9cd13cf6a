// One benchmark target in its own process (so peak RSS is its own): the plain `pg` baseline,
// the hub on PostgreSQL, or the hub on PGlite. Started by index.mjs with the settings in
// BENCH_TARGET; reports one JSON result to the parent over IPC.
import pg from "pg"
import { backendCpuMs, drive, summarize } from "./driver.mjs"
import { buildWorkload } from "./workload.mjs"

const settings = JSON.parse(process.env.BENCH_TARGET ?? "{}")
const trace = process.env.BENCH_TRACE === "1"

// Round trips: every statement the pg driver sends (the store's pool and the baseline's alike
// go through Client.prototype.query), and with BENCH_TRACE=1 which statements they were.
const roundTrips = { total: 0, byStatement: new Map() }
const countQueries = (proto) => {
  const original = proto.query
  proto.query = function (config, ...rest) {
    roundTrips.total++
    if (!trace) return original.call(this, config, ...rest)
    const text = typeof config === "string" ? config : (config?.text ?? config?.name ?? "?")
    const key = String(text).replace(/\s+/g, " ").trim().slice(0, 90)
    const entry = roundTrips.byStatement.get(key) ?? { count: 0, ms: 0 }
    roundTrips.byStatement.set(key, entry)
    entry.count++
    const started = performance.now()
    const result = original.call(this, config, ...rest)
    // Time from send to answer as the caller sees it: lock waits and commit flushes included.
    if (typeof result?.then === "function")
      result.then(
        () => (entry.ms += performance.now() - started),
        () => (entry.ms += performance.now() - started)
      )
    return result
  }
}
countQueries(pg.Client.prototype)

const rssMb = () => process.resourceUsage().maxRSS / 1024

const baselineTable = `CREATE TABLE bench_baseline (
  id bigserial PRIMARY KEY,
  channel text NOT NULL,
  provider_message_id text NOT NULL,
  sender_address text NOT NULL,
  sender_name text,
  parts jsonb NOT NULL,
  metadata jsonb NOT NULL,
  sent_at timestamptz NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (channel, provider_message_id)
)`
const baselineInsert = `INSERT INTO bench_baseline
  (channel, provider_message_id, sender_address, sender_name, parts, metadata, sent_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (channel, provider_message_id) DO NOTHING`

/** Opens the target: an ingest function, a verifier, and a close. */
const open = async () => {
  if (settings.target === "baseline") {
    const pool = new pg.Pool({ connectionString: settings.connectionString, max: settings.poolSize })
    await pool.query(baselineTable)
    return {
      ingest: async (e) => {
        const r = await pool.query(baselineInsert, [
          e.channel,
          e.providerMessageId,
          e.from.address,
          e.from.name ?? null,
          JSON.stringify(e.parts),
          JSON.stringify(e.metadata ?? {}),
          new Date(e.sentAt)
        ])
        return { duplicate: r.rowCount === 0 }
      },
      // Per provider id row counts, then close.
      finish: async () => {
        const { rows } = await pool.query(
          "SELECT channel, provider_message_id AS id, count(*)::int AS n FROM bench_baseline GROUP BY 1, 2"
        )
        await pool.end()
        // A plain table has no event log: its one row per message stands in for the event.
        return { messages: rows, events: rows }
      }
    }
  }
  // Imported here, so the baseline runs without the built store package.
  const { createHub } = await import("@dialogi/core")
  const store = await makeStore()
  const hub = await createHub({ store, ...settings.hubOptions })
  return {
    ingest: (e) => hub.ingest(e),
    finish: async () => {
      if (settings.target === "postgres") {
        await hub.close()
        return perIdViaSql()
      }
      const rows = await perIdViaStore(store)
      await hub.close()
      return rows
    }
  }
}

const makeStore = async () => {
  if (settings.target === "memory") {
    const { MemoryStore } = await import("@dialogi/core")
    const { Effect } = await import("effect")
    return Effect.runPromise(MemoryStore.makeMemoryStore())
  }
  const { pgliteStore, postgresStore } = await import("@dialogi/store-postgres")
  return settings.target === "postgres"
    ? postgresStore({ connectionString: settings.connectionString, ...settings.storeOptions })
    : pgliteStore({ dataDir: settings.dataDir, ...settings.storeOptions })
}

/** Per provider id counts of stored messages and message.received events, counted in SQL. */
const perIdViaSql = async () => {
  const client = new pg.Client({ connectionString: settings.connectionString })
  await client.connect()
  try {
    const messages = await client.query(
      `SELECT channel, provider_message_id AS id, count(*)::int AS n FROM dialogi_messages
        WHERE direction = 'inbound' GROUP BY 1, 2`
    )
    const events = await client.query(
      `SELECT body->'message'->>'channel' AS channel, body->'message'->>'providerMessageId' AS id,
              count(*)::int AS n
         FROM dialogi_events WHERE body->>'_tag' = 'message.received' GROUP BY 1, 2`
    )
    return { messages: messages.rows, events: events.rows }
  } finally {
    await client.end()
  }
}

/**
 * Per provider id counts of stored messages (every conversation's thread) and of
 * message.received events (the whole event log), read through the store's own interface.
 */
const perIdViaStore = async (store) => {
  const { Effect } = await import("effect")
  const read = (f) => Effect.runPromise(store.read(f))
  const countInto = (map, channel, id) => {
    const k = key(channel, id)
    map.set(k, (map.get(k) ?? 0) + 1)
  }
  const events = new Map()
  for (let seq = 0; ; ) {
    const page = await read((tx) => tx.eventsAfter(seq, 1000))
    if (page.length === 0) break
    for (const event of page)
      if (event.body._tag === "message.received")
        countInto(events, event.body.message.channel, event.body.message.providerMessageId)
    seq = page[page.length - 1].seq
  }
  const messages = new Map()
  for (let after; ; ) {
    const page = await read((tx) => tx.listConversations({}, { after, limit: 500 }))
    const thread = await read((tx) => tx.thread(page.items.map((c) => c.id)))
    for (const m of thread) if (m.direction === "inbound") countInto(messages, m.channel, m.providerMessageId)
    if (page.next === undefined) break
    after = page.next
  }
  const rows = (map) =>
    [...map].map(([k, n]) => {
      const [channel, id] = k.split("\u0000")
      return { channel, id, n }
    })
  return { messages: rows(messages), events: rows(events) }
}

const key = (channel, id) => `${channel}\u0000${id}`

/** Compares per-id row counts with the workload: rows of warm-up ids are ignored. */
const tally = (rows, expected, warm) => {
  const seen = new Map()
  let total = 0
  let unexpected = 0
  for (const row of rows) {
    const k = key(row.channel, row.id)
    if (warm.has(k)) continue
    if (!expected.has(k)) unexpected += row.n
    total += row.n
    seen.set(k, (seen.get(k) ?? 0) + row.n)
  }
  let lost = 0
  let duplicated = 0
  for (const k of expected) {
    const n = seen.get(k) ?? 0
    if (n === 0) lost++
    if (n > 1) duplicated++
  }
  return { total, lost, duplicated, unexpected }
}

const main = async () => {
  const target = await open()
  const warm = buildWorkload({ n: settings.warmup, seed: settings.seed + 1, prefix: "w" })
  const work = buildWorkload({ n: settings.n, seed: settings.seed, prefix: "m" })
  await drive(warm.envelopes, settings.concurrency, target.ingest)
  const tripsBefore = roundTrips.total
  roundTrips.byStatement.clear()
  // PostgreSQL CPU of this target's backends; PGlite and memory run inside this process.
  const serverSide = settings.target === "postgres" || settings.target === "baseline"
  const monitor = serverSide ? new pg.Client({ connectionString: settings.connectionString }) : undefined
  await monitor?.connect()
  const database = settings.connectionString && new URL(settings.connectionString).pathname.slice(1)
  const run = await drive(work.envelopes, settings.concurrency, target.ingest, {
    serverCpuMs: monitor ? () => backendCpuMs(monitor, database) : undefined
  })
  await monitor?.end()
  const trips = roundTrips.total - tripsBefore
  const rss = rssMb()
  const duplicatesReported = run.results.filter((r) => r.duplicate).length
  const rows = await target.finish()
  const ids = (w) => new Set(w.envelopes.map((e) => key(e.channel, e.providerMessageId)))
  const expected = ids(work)
  const warmIds = ids(warm)
  const messages = tally(rows.messages, expected, warmIds)
  const events = tally(rows.events, expected, warmIds)
  const counts = {
    messages: messages.total,
    receivedEvents: events.total,
    lost: messages.lost + events.lost,
    duplicated: messages.duplicated + events.duplicated,
    unexpected: messages.unexpected + events.unexpected
  }
  return {
    target: settings.target,
    ...summarize(run),
    peakRssMb: rss,
    roundTrips: trips,
    statements: trace
      ? [...roundTrips.byStatement]
          .sort((a, b) => b[1].ms - a[1].ms)
          .slice(0, 25)
          .map(([k, e]) => [k, e])
      : undefined,
    expected: { envelopes: work.envelopes.length, distinct: work.distinct, duplicates: work.duplicates },
    duplicatesReported,
    counts
  }
}

main().then(
  (result) => process.send(result, () => process.exit(0)),
  (error) => {
    console.error(error)
    process.send({ target: settings.target, error: String(error?.stack ?? error) }, () => process.exit(1))
  }
)
