// One email bench target in its own process (so peak RSS is its own): the plain baseline
// (imapflow fetching, mailparser parsing, nothing stored) or a hub with the email adapter on
// PostgreSQL or PGlite reading the backlog from its cursor. Started by index.mjs with the
// settings in BENCH_TARGET; reports one JSON result to the parent over IPC.
import { mkdtemp, readFile, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import pg from "pg"
import { backendCpuMs } from "../ingest/driver.mjs"
import { loadEmailAdapter, loadImapFlow, loadSimpleParser } from "./deps.mjs"
import { imapSessionCpuMs } from "./dovecot.mjs"

const settings = JSON.parse(process.env.BENCH_TARGET ?? "{}")
const mailbox = "INBOX"

const rssMb = () => process.resourceUsage().maxRSS / 1024
const cpuMs = (since) => {
  const used = process.cpuUsage(since)
  return (used.user + used.system) / 1000
}

/** What a correct ingest ends with: Message-ID -> the sender whose one thread holds it. */
const loadExpected = async () => {
  const { threadOf, maxUid } = JSON.parse(await readFile(settings.expectedFile, "utf8"))
  return { threadOf: new Map(threadOf), maxUid }
}

/**
 * Compares what was read or stored with the workload: `items` are { messageId, thread } where
 * thread is the sender (baseline) or the conversation (hub) the mail ended in.
 */
const verify = (items, expected) => {
  const seen = new Map()
  let unexpected = 0
  for (const { messageId } of items) {
    if (!expected.threadOf.has(messageId)) unexpected++
    seen.set(messageId, (seen.get(messageId) ?? 0) + 1)
  }
  let lost = 0
  let duplicated = 0
  for (const id of expected.threadOf.keys()) {
    const count = seen.get(id) ?? 0
    if (count === 0) lost++
    if (count > 1) duplicated++
  }
  // Threads: every thread holds the mails of exactly one sender, and each sender has one thread.
  const senderOfThread = new Map()
  const threadsOfSender = new Map()
  let mixedThreads = 0
  for (const { messageId, thread } of items) {
    const sender = expected.threadOf.get(messageId)
    if (sender === undefined) continue
    const known = senderOfThread.get(thread)
    if (known === undefined) senderOfThread.set(thread, sender)
    else if (known !== sender) mixedThreads++
    const threads = threadsOfSender.get(sender) ?? new Set()
    threads.add(thread)
    threadsOfSender.set(sender, threads)
  }
  const splitSenders = [...threadsOfSender.values()].filter((t) => t.size > 1).length
  return {
    messages: items.length,
    lost,
    duplicated,
    unexpected,
    threads: senderOfThread.size,
    expectedThreads: new Set(expected.threadOf.values()).size,
    mixedThreads,
    splitSenders
  }
}

/** imapflow + mailparser as a plain program would read the backlog: same fetch strategy as the adapter. */
const runBaseline = async (expected) => {
  const ImapFlow = await loadImapFlow()
  const simpleParser = await loadSimpleParser()
  const cpu = process.cpuUsage()
  const started = performance.now()
  const client = new ImapFlow({ ...settings.account, logger: false, disableAutoIdle: true })
  client.on("error", () => undefined)
  await client.connect()
  const lock = await client.getMailboxLock(mailbox)
  const items = []
  let imapCpu
  try {
    const uids = ((await client.search({ uid: "1:*" }, { uid: true })) || []).sort((a, b) => a - b)
    for (let i = 0; i < uids.length; i += settings.batchSize) {
      const fetched = []
      for await (const m of client.fetch(
        uids.slice(i, i + settings.batchSize).join(","),
        { uid: true, source: true },
        { uid: true }
      ))
        fetched.push(m)
      fetched.sort((a, b) => a.uid - b.uid)
      for (const m of fetched) {
        // The adapter's mailparser options, so both sides parse the same way.
        const mail = await simpleParser(m.source, { keepCidLinks: true, skipTextToHtml: true })
        const messageId = /<([^<>\s]+)>/.exec(mail.messageId ?? "")?.[1] ?? ""
        items.push({ messageId, thread: (mail.from?.value[0]?.address ?? "").toLowerCase() })
      }
    }
    imapCpu = await imapSessionCpuMs(settings.masterPid)
  } finally {
    lock.release()
  }
  const wallMs = performance.now() - started
  const nodeCpu = cpuMs(cpu)
  await client.logout().catch(() => client.close())
  return {
    wallMs,
    nodeCpuMs: nodeCpu,
    imapCpuMs: imapCpu,
    peakRssMb: rssMb(),
    check: verify(items, expected)
  }
}

const makeStore = async () => {
  const { pgliteStore, postgresStore } = await import("@dialogi/store-postgres")
  return settings.target === "postgres"
    ? postgresStore({ connectionString: settings.connectionString })
    : pgliteStore({ dataDir: settings.dataDir })
}

/** Every inbound email message as { messageId, thread = its conversation }, read through the store. */
const storedMessages = async (store) => {
  const { Effect } = await import("effect")
  const read = (f) => Effect.runPromise(store.read(f))
  const items = []
  for (let after; ; ) {
    const page = await read((tx) => tx.listConversations({}, { after, limit: 500 }))
    const thread = await read((tx) => tx.thread(page.items.map((c) => c.id)))
    for (const m of thread)
      if (m.direction === "inbound" && m.channel === "email")
        items.push({ messageId: m.providerMessageId, thread: m.conversationId })
    if (page.next === undefined) break
    after = page.next
  }
  return items
}

/** The hub with the email adapter reading the backlog from an empty cursor until the last UID. */
const runHub = async (expected) => {
  const { createHub } = await import("@dialogi/core")
  const { createEmailAdapter, fileAttachmentStore, memoryKeyValueStore } = await loadEmailAdapter()
  // Schema migrations before the clock starts: a deployed hub has its tables already.
  await (await createHub({ store: await makeStore() })).close()
  const attachmentsDir = await mkdtemp(join(tmpdir(), "dialogi-bench-attachments-"))
  const database =
    settings.target === "postgres" ? new URL(settings.connectionString).pathname.slice(1) : undefined
  const monitor = database ? new pg.Client({ connectionString: settings.connectionString }) : undefined
  await monitor?.connect()
  const pgBefore = monitor ? await backendCpuMs(monitor, database) : undefined
  let done
  const finished = new Promise((resolve) => {
    done = resolve
  })
  const health = []
  const cpu = process.cpuUsage()
  const started = performance.now()
  const adapter = createEmailAdapter({
    address: "support@example.com",
    threadingSecret: "bench-threading-secret",
    imap: { ...settings.account, mailboxes: [mailbox], batchSize: settings.batchSize },
    // Nothing is sent in this bench; a port nobody listens on.
    smtp: { host: "127.0.0.1", port: 9, requireTLS: false, ignoreTLS: true },
    attachments: { store: fileAttachmentStore(attachmentsDir) },
    state: memoryKeyValueStore(),
    onHealth: (event) => {
      if (event.kind !== "synced") health.push(event.kind)
      if (event.kind === "synced" && event.lastUid >= expected.maxUid) done()
    }
  })
  const store = await makeStore()
  const hub = await createHub({ store, adapters: [adapter] })
  const timeout = setTimeout(() => done("timeout"), settings.timeoutMs)
  const outcome = await finished
  clearTimeout(timeout)
  const wallMs = performance.now() - started
  const nodeCpu = cpuMs(cpu)
  const imapCpu = await imapSessionCpuMs(settings.masterPid)
  const pgAfter = monitor ? await backendCpuMs(monitor, database) : undefined
  await monitor?.end()
  const peak = rssMb()
  if (outcome === "timeout")
    throw new Error(`backlog not stored within ${settings.timeoutMs} ms (health: ${health.join(", ")})`)
  const quarantined = await adapter.quarantined()
  const items = await storedMessages(store)
  await hub.close()
  await rm(attachmentsDir, { recursive: true, force: true })
  return {
    wallMs,
    nodeCpuMs: nodeCpu,
    imapCpuMs: imapCpu,
    pgCpuMs: pgBefore === undefined || pgAfter === undefined ? undefined : pgAfter - pgBefore,
    peakRssMb: peak,
    quarantined: quarantined.length,
    check: verify(items, expected)
  }
}

const main = async () => {
  const expected = await loadExpected()
  const result = settings.target === "baseline" ? await runBaseline(expected) : await runHub(expected)
  const n = expected.threadOf.size
  const perMsg = (ms) => (ms === undefined ? undefined : (ms * 1000) / n)
  return {
    target: settings.target,
    ...result,
    count: n,
    msgsPerS: n / (result.wallMs / 1000),
    nodeCpuUsPerMsg: perMsg(result.nodeCpuMs),
    imapCpuUsPerMsg: perMsg(result.imapCpuMs),
    pgCpuUsPerMsg: perMsg(result.pgCpuMs)
  }
}

main().then(
  (result) => process.send(result, () => process.exit(0)),
  (error) => {
    console.error(error)
    process.send({ target: settings.target, error: String(error?.stack ?? error) }, () => process.exit(1))
  }
)
