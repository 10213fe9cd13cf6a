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
import { storedMessages, verify } from "./verify.mjs"

const settings = JSON.parse(process.env.BENCH_TARGET ?? "{}")
const mailbox = "INBOX"

/** The hub's attachment files, removed when the process ends either way. */
let attachmentsDir

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
 * Reads the whole INBOX the way the adapter's watcher does (UID SEARCH, then FETCH of the source
 * `batchSize` UIDs at a time, collected before any other command), handing each batch in UID
 * order to `onBatch`. Returns the CPU of the Dovecot session, read before logging out.
 */
const readInbox = async (onBatch) => {
  const ImapFlow = await loadImapFlow()
  const client = new ImapFlow({ ...settings.account, logger: false, disableAutoIdle: true })
  client.on("error", () => undefined)
  await client.connect()
  try {
    const lock = await client.getMailboxLock(mailbox)
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
        await onBatch(fetched.sort((a, b) => a.uid - b.uid))
      }
      return await imapSessionCpuMs(settings.masterPid)
    } finally {
      lock.release()
    }
  } finally {
    await client.logout().catch(() => client.close())
  }
}

/** imapflow + mailparser as a plain program would read the backlog, storing nothing. */
const runBaseline = async (expected) => {
  const simpleParser = await loadSimpleParser()
  const cpu = process.cpuUsage()
  const started = performance.now()
  const items = []
  const imapCpu = await readInbox(async (batch) => {
    for (const m of batch) {
      // The adapter's mailparser options, so both sides parse the same way.
      const mail = await simpleParser(m.source, { keepCidLinks: true, skipTextToHtml: true })
      const messageId = /<([^<>\s]+)>/.exec(mail.messageId ?? "")?.[1] ?? ""
      items.push({ messageId, thread: (mail.from?.value[0]?.address ?? "").toLowerCase() })
    }
  })
  const wallMs = performance.now() - started
  return {
    wallMs,
    nodeCpuMs: cpuMs(cpu),
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

/** The hub with the email adapter reading the backlog from an empty cursor until the last UID. */
const runHub = async (expected) => {
  const { createHub } = await import("@dialogi/core")
  const { createEmailAdapter, fileAttachmentStore, memoryKeyValueStore } = await loadEmailAdapter()
  // Schema migrations before the clock starts: a deployed hub has its tables already.
  await (await createHub({ store: await makeStore() })).close()
  attachmentsDir = await mkdtemp(join(tmpdir(), "dialogi-bench-attachments-"))
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
    // --reader concurrent: no watcher; the bench reads the mailbox and hands each fetched batch
    // to ingestRaw all at once (a diagnostic of what batch-wise ingest would give).
    ...(settings.reader === "watcher"
      ? { imap: { ...settings.account, mailboxes: [mailbox], batchSize: settings.batchSize } }
      : {}),
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
  let imapCpu
  if (settings.reader === "concurrent")
    readInbox(async (batch) => {
      await Promise.all(batch.map((m) => adapter.ingestRaw(m.source, `${mailbox}#${m.uid}`)))
    }).then(
      (cpu) => {
        imapCpu = cpu
        done()
      },
      (error) => done(error)
    )
  const outcome = await finished
  clearTimeout(timeout)
  const wallMs = performance.now() - started
  const nodeCpu = cpuMs(cpu)
  imapCpu ??= await imapSessionCpuMs(settings.masterPid)
  const pgAfter = monitor ? await backendCpuMs(monitor, database) : undefined
  await monitor?.end()
  const peak = rssMb()
  if (outcome === "timeout")
    throw new Error(`backlog not stored within ${settings.timeoutMs} ms (health: ${health.join(", ")})`)
  if (outcome instanceof Error) throw outcome
  const quarantined = await adapter.quarantined()
  const items = await storedMessages(store)
  await hub.close()
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

const removeFiles = () =>
  attachmentsDir === undefined ? Promise.resolve() : rm(attachmentsDir, { recursive: true, force: true })

main().then(
  async (result) => {
    await removeFiles()
    process.send(result, () => process.exit(0))
  },
  async (error) => {
    console.error(error)
    await removeFiles().catch(() => undefined)
    process.send({ target: settings.target, error: String(error?.stack ?? error) }, () => process.exit(1))
  }
)
