import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import pg from "pg"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { freePort, type PgCluster, startCluster } from "./pgCluster.js"
import { type Delivery, sendAll } from "./sender.js"

// The foundation issue's crash-safety scenario, with real processes: a PostgreSQL cluster of
// its own, a hub process serving the test channel's webhook, and a provider that retries every
// delivery until it is acknowledged. The hub is kill -9'ed at 30% and PostgreSQL restarted at
// 60%; afterwards the database must hold every message exactly once, with a gap-free event log.

const total = 10_000
const customers = 2_000
const concurrency = 48
const secret = "crash-safety-secret"
const hubScript = fileURLToPath(new URL("./hub-process.mjs", import.meta.url))

/** ~2,000 customers with 1 to a dozen messages each (skewed), arriving out of order. */
const makeDeliveries = (): Delivery[] => {
  let seed = 42
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648
    return seed / 2_147_483_648
  }
  const owners = Array.from({ length: total }, (_, i) =>
    i < customers ? i : Math.floor(customers * random() ** 2)
  )
  const counters = new Array<number>(customers).fill(0)
  const start = Date.UTC(2026, 0, 1)
  const deliveries = owners.map((customer, i) => {
    const n = counters[customer]!++
    return {
      id: `wamid.${customer}.${n}`,
      from: `customer-${String(customer).padStart(4, "0")}`,
      text: `message ${n} of customer ${customer}`,
      sentAt: start + i * 1_000
    }
  })
  for (let i = deliveries.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[deliveries[i], deliveries[j]] = [deliveries[j]!, deliveries[i]!]
  }
  return deliveries
}

interface HubProcess {
  readonly child: ChildProcess
  readonly pid: number
  readonly output: () => string
  /** Set when the process exits; null while it runs. */
  exit: { code: number | null; signal: NodeJS.Signals | null } | null
}

const children = new Set<ChildProcess>()

const spawnHub = (databaseUrl: string, port: number): Promise<HubProcess> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [hubScript], {
      env: { ...process.env, DATABASE_URL: databaseUrl, PORT: String(port), WEBHOOK_SECRET: secret },
      stdio: ["ignore", "pipe", "pipe"]
    })
    children.add(child)
    let output = ""
    const hub: HubProcess = { child, pid: child.pid ?? -1, output: () => output, exit: null }
    const timer = setTimeout(() => reject(new Error(`hub process not ready after 30 s:\n${output}`)), 30_000)
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString()
      if (/^ready /m.test(output)) {
        clearTimeout(timer)
        resolve(hub)
      }
    })
    child.stderr!.on("data", (chunk: Buffer) => {
      output += chunk.toString()
    })
    child.on("exit", (code, signal) => {
      hub.exit = { code, signal }
      children.delete(child)
      clearTimeout(timer)
      reject(new Error(`hub process exited (${code ?? signal}) before it was ready:\n${output}`))
    })
  })

const killHard = (hub: HubProcess): Promise<void> =>
  new Promise((resolve) => {
    if (hub.exit) return resolve()
    hub.child.once("exit", () => resolve())
    hub.child.kill("SIGKILL")
  })

describe("crash safety: kill -9 of the hub and a PostgreSQL restart under webhook load", () => {
  let cluster: PgCluster | undefined

  beforeAll(async () => {
    cluster = await startCluster()
  })

  afterAll(async () => {
    for (const child of children) child.kill("SIGKILL")
    await cluster?.stop()
  })

  it("stores 10,000 retried deliveries exactly once with a gap-free event log", async () => {
    const db = cluster!
    const startedAt = Date.now()
    const hubPort = await freePort()
    const deliveries = makeDeliveries()

    let hub = await spawnHub(db.url, hubPort)
    const firstPid = hub.pid
    const timings: Record<string, number> = { hubReady: Date.now() - startedAt }
    const aborter = new AbortController()
    const watch = (h: HubProcess) =>
      h.child.on("exit", (code, signal) => {
        if (h === hub && !killing)
          aborter.abort(new Error(`hub process ${h.pid} died on its own (${code ?? signal}):\n${h.output()}`))
      })
    let killing = false
    watch(hub)

    const chaos: Promise<void>[] = []
    let killedAt = -1
    let pgRestartedAt = -1
    let pidBeforePgRestart = -1
    let pidAfterPgRestart = -1
    let ackedAfterPgRestart = 0
    const killAndReplaceHub = async () => {
      killing = true
      const t = Date.now()
      await killHard(hub)
      timings.killAt = t - startedAt
      hub = await spawnHub(db.url, hubPort)
      killing = false
      watch(hub)
      timings.hubDownMs = Date.now() - t
    }
    const restartPostgres = async () => {
      pidBeforePgRestart = hub.pid
      const t = Date.now()
      await db.restart()
      timings.pgRestartAt = t - startedAt
      timings.pgRestartMs = Date.now() - t
      pidAfterPgRestart = hub.pid
      pgRestartedAt = Date.now()
    }

    const stats = await sendAll(deliveries, {
      port: () => hubPort,
      secret,
      concurrency,
      requestTimeoutMs: 20_000,
      signal: aborter.signal,
      onAck: (acked) => {
        if (killedAt < 0 && acked >= total * 0.3) {
          killedAt = acked
          chaos.push(killAndReplaceHub())
        }
        if (pgRestartedAt < 0 && pidBeforePgRestart < 0 && acked >= total * 0.6) {
          chaos.push(restartPostgres())
        }
        if (pgRestartedAt > 0) ackedAfterPgRestart += 1
      }
    })
    await Promise.all(chaos)
    timings.sendMs = Date.now() - startedAt

    // The provider got a 2xx for every delivery; the hub was replaced once and survived the
    // database restart in the same process.
    expect(stats.acked).toBe(total)
    expect(killedAt).toBeGreaterThan(0)
    expect(hub.pid).not.toBe(firstPid)
    expect(pidBeforePgRestart).toBe(hub.pid)
    expect(pidAfterPgRestart).toBe(hub.pid)
    expect(hub.exit).toBeNull()
    expect(ackedAfterPgRestart).toBeGreaterThan(0)

    const client = new pg.Client({ connectionString: db.url })
    await client.connect()
    try {
      const one = async (sql: string) => (await client.query(sql)).rows[0] as Record<string, string>
      const messages = await one(
        "SELECT count(*)::int AS n, count(DISTINCT provider_message_id)::int AS distinct_ids FROM dialogi_messages WHERE direction = 'inbound' AND channel = 'test'"
      )
      // Each message.received event carries the message; count distinct provider ids in them too.
      const received = await one(
        "SELECT count(*)::int AS n, count(DISTINCT body->'message'->>'providerMessageId')::int AS distinct_messages FROM dialogi_events WHERE body->>'_tag' = 'message.received'"
      )
      const seqs = await one(
        "SELECT count(*)::int AS n, count(DISTINCT seq)::int AS distinct_seqs, min(seq)::int AS min, max(seq)::int AS max FROM dialogi_events"
      )
      // Retries after the crash must not create a second contact or conversation per customer.
      const people = await one(
        "SELECT (SELECT count(*)::int FROM dialogi_contacts) AS contacts, (SELECT count(*)::int FROM dialogi_identities) AS identities, (SELECT count(*)::int FROM dialogi_conversations) AS conversations"
      )
      const head = await one("SELECT seq::int AS seq FROM dialogi_event_head")
      const ids = new Set(
        (
          await client.query("SELECT provider_message_id FROM dialogi_messages WHERE channel = 'test'")
        ).rows.map((r: { provider_message_id: string }) => r.provider_message_id)
      )
      const lost = deliveries.filter((d) => !ids.has(d.id)).length
      const duplicated = Number(messages.n) - Number(messages.distinct_ids)
      const retries = stats.attempts - total
      console.log(
        `crash-safety: ${total} deliveries acked in ${timings.sendMs} ms (${retries} retries ${JSON.stringify(stats.failures)}, ` +
          `${stats.duplicates} acked as duplicate); hub kill -9 at ${killedAt} acked (pid ${firstPid} -> ${hub.pid}, down ${timings.hubDownMs} ms); ` +
          `PostgreSQL restart at ${timings.pgRestartAt} ms took ${timings.pgRestartMs} ms, hub pid ${pidBeforePgRestart} -> ${pidAfterPgRestart}, ` +
          `${ackedAfterPgRestart} acked after it; db: ${messages.n} inbound messages (${messages.distinct_ids} distinct ids), ` +
          `${received.n} message.received events, ${people.contacts} contacts, ${people.conversations} conversations, events seq ${seqs.min}..${seqs.max} (${seqs.n} rows), lost ${lost}, duplicated ${duplicated}`
      )
      expect(Number(messages.n)).toBe(total)
      expect(Number(messages.distinct_ids)).toBe(total)
      expect(lost).toBe(0)
      expect(duplicated).toBe(0)
      expect(Number(received.n)).toBe(total)
      expect(Number(received.distinct_messages)).toBe(total)
      expect(Number(people.contacts)).toBe(customers)
      expect(Number(people.identities)).toBe(customers)
      expect(Number(people.conversations)).toBe(customers)
      expect(Number(seqs.min)).toBe(1)
      expect(Number(seqs.max)).toBe(Number(seqs.n))
      expect(Number(seqs.distinct_seqs)).toBe(Number(seqs.n))
      expect(Number(head.seq)).toBe(Number(seqs.max))
    } finally {
      await client.end()
    }
  }, 240_000)
})
