import { ImapFlow } from "imapflow"
import type { ImapAccountConfig } from "./config.js"
import type { HealthEvent } from "./health.js"
import type { KeyValueStore } from "./KeyValueStore.js"

/** Where reading a mailbox stopped: UIDs are only meaningful within one UIDVALIDITY. */
export interface MailboxCursor {
  /** A bigint in imapflow; kept as a string so it survives JSON. */
  readonly uidValidity: string
  readonly lastUid: number
}

/** What the watcher does with one fetched mail; throws only for failures worth retrying. */
export type MailHandler = (
  raw: Uint8Array,
  at: { mailbox: string; uid: number; uidValidity: string }
) => Promise<void>

/** What one mailbox watcher needs. */
export interface WatcherDeps {
  readonly account: ImapAccountConfig
  readonly mailbox: string
  readonly state: KeyValueStore
  readonly handle: MailHandler
  readonly onHealth: (event: HealthEvent) => void
  readonly log: (level: "debug" | "info" | "warn" | "error", message: string, data?: unknown) => void
}

/** The state key of a mailbox's cursor; one per account and mailbox. */
export const cursorKey = (account: ImapAccountConfig, mailbox: string) =>
  `cursor:${account.auth.user}@${account.host}:${account.port}/${mailbox}`

const chunks = <A>(items: ReadonlyArray<A>, size: number): Array<Array<A>> => {
  const out: Array<Array<A>> = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

/** Opens a fresh client; imapflow instances are single-use, so every connection gets a new one. */
export const openClient = (account: ImapAccountConfig, idle: boolean) =>
  new ImapFlow({
    host: account.host,
    port: account.port,
    secure: account.secure ?? true,
    auth: { user: account.auth.user, pass: account.auth.pass },
    logger: false,
    disableAutoIdle: !idle,
    autoIdleDelay: account.idleDelayMs ?? 1000,
    maxIdleTime: account.maxIdleTimeMs ?? 5 * 60_000,
    missingIdleCommand: "STATUS"
  })

/**
 * Fetches every mail above the cursor in UID order and hands it to `handle`, saving the cursor
 * after each one, so a crash or a dropped connection resumes exactly after the last stored mail.
 * A UIDVALIDITY change restarts from UID 1; the hub dedupes on Message-ID, so nothing doubles.
 */
export const syncMailbox = async (
  client: ImapFlow,
  deps: Pick<WatcherDeps, "account" | "mailbox" | "state" | "handle" | "onHealth">
): Promise<{ stored: number; lastUid: number }> => {
  const key = cursorKey(deps.account, deps.mailbox)
  const lock = await client.getMailboxLock(deps.mailbox)
  try {
    const box = client.mailbox
    if (!box) throw new Error(`[dialogi/email] mailbox ${deps.mailbox} is not open`)
    const uidValidity = String(box.uidValidity)
    const saved = await deps.state.get(key)
    let cursor: MailboxCursor = saved ? (JSON.parse(saved) as MailboxCursor) : { uidValidity, lastUid: 0 }
    if (cursor.uidValidity !== uidValidity) {
      deps.onHealth({
        kind: "uidvalidity_changed",
        mailbox: deps.mailbox,
        from: cursor.uidValidity,
        to: uidValidity
      })
      cursor = { uidValidity, lastUid: 0 }
      await deps.state.set(key, JSON.stringify(cursor))
    }
    // `UID SEARCH n:*` (like FETCH) also answers the highest existing UID when it is below n.
    const found = (await client.search({ uid: `${cursor.lastUid + 1}:*` }, { uid: true })) || []
    const pending = found.filter((uid) => uid > cursor.lastUid).sort((a, b) => a - b)
    let stored = 0
    for (const batch of chunks(pending, deps.account.batchSize ?? 50)) {
      // Collect first: any other IMAP command inside a running FETCH iteration deadlocks.
      const fetched: Array<{ uid: number; source: Uint8Array }> = []
      for await (const message of client.fetch(batch.join(","), { uid: true, source: true }, { uid: true }))
        if (message.source && message.uid > cursor.lastUid)
          fetched.push({ uid: message.uid, source: message.source })
      fetched.sort((a, b) => a.uid - b.uid)
      const processed: Array<number> = []
      try {
        for (const message of fetched) {
          await deps.handle(message.source, { mailbox: deps.mailbox, uid: message.uid, uidValidity })
          cursor = { uidValidity, lastUid: message.uid }
          await deps.state.set(key, JSON.stringify(cursor))
          processed.push(message.uid)
          stored += 1
        }
      } finally {
        // Also when a later mail of the batch failed: the cursor is already past these.
        if (processed.length > 0 && client.usable) await afterProcessed(client, deps, processed)
      }
    }
    return { stored, lastUid: cursor.lastUid }
  } finally {
    lock.release()
  }
}

/**
 * Flags or moves mail the hub has committed. Runs after the cursor moved past it, so a failure
 * here never makes a mail be read twice; at worst it stays where it was, unflagged.
 */
const afterProcessed = async (
  client: ImapFlow,
  deps: Pick<WatcherDeps, "account" | "mailbox">,
  uids: ReadonlyArray<number>
) => {
  const after = deps.account.afterIngest ?? "none"
  if (after === "none") return
  const range = uids.join(",")
  if (after === "seen" || after.seen === true) await client.messageFlagsAdd(range, ["\\Seen"], { uid: true })
  if (typeof after === "object" && after.moveTo !== deps.mailbox)
    await client.messageMove(range, after.moveTo, { uid: true })
}

const isAuthFailure = (e: unknown) =>
  typeof e === "object" &&
  e !== null &&
  (e as { authenticationFailed?: unknown }).authenticationFailed === true

/**
 * Keeps one mailbox read: connects, syncs, waits in IDLE (or polls), and on any drop makes a
 * NEW ImapFlow after a backoff, since an ImapFlow instance never reconnects.
 */
export const watchMailbox = (deps: WatcherDeps) => {
  const { account, mailbox } = deps
  const initialMs = account.backoff?.initialMs ?? 1000
  const maxMs = account.backoff?.maxMs ?? 60_000
  let stopped = false
  let client: ImapFlow | undefined
  let wake: (() => void) | undefined
  let running: Promise<void> | undefined
  let again = false

  const syncSoon = (current: ImapFlow) => {
    if (running) {
      again = true
      return
    }
    running = (async () => {
      do {
        again = false
        const result = await syncMailbox(current, deps)
        if (result.stored > 0) deps.onHealth({ kind: "synced", mailbox, ...result })
      } while (again && !stopped && current.usable)
    })()
      .catch((e: unknown) => {
        // A failed ingest (store down) keeps the cursor where it was; the poll timer retries.
        if (!stopped) deps.log("warn", `[dialogi/email] sync of ${mailbox} failed`, { error: String(e) })
      })
      .finally(() => {
        running = undefined
      })
  }

  const connectOnce = async (): Promise<boolean> => {
    const current = openClient(account, true)
    client = current
    const closed = new Promise<void>((resolve) => current.once("close", () => resolve()))
    // Without an error listener a socket error would crash the host process.
    current.on("error", (e: unknown) =>
      deps.log("warn", `[dialogi/email] imap error on ${mailbox}`, { error: String(e) })
    )
    let timer: NodeJS.Timeout | undefined
    try {
      await current.connect()
      deps.onHealth({ kind: "connected", mailbox })
      const after = account.afterIngest
      // Created once up front: a MOVE into a missing folder fails, and the mail would stay put.
      if (typeof after === "object" && after.moveTo !== mailbox) await current.mailboxCreate(after.moveTo)
      await current.mailboxOpen(mailbox)
      current.on("exists", () => syncSoon(current))
      deps.onHealth({ kind: current.capabilities.has("IDLE") ? "idle" : "polling", mailbox })
      syncSoon(current)
      // Also poll: IDLE can stop delivering EXISTS silently, and some servers have no IDLE.
      timer = setInterval(() => syncSoon(current), account.pollIntervalMs ?? 60_000)
      await closed
      return true
    } catch (e) {
      if (isAuthFailure(e))
        deps.onHealth({ kind: "auth_failed", mailbox, error: String((e as Error).message ?? e) })
      else deps.log("warn", `[dialogi/email] connection to ${mailbox} failed`, { error: String(e) })
      return false
    } finally {
      if (timer) clearInterval(timer)
      if (current.usable) await current.logout().catch(() => current.close())
      else current.close()
      await running?.catch(() => undefined)
    }
  }

  const loop = (async () => {
    let delay = initialMs
    while (!stopped) {
      const wasConnected = await connectOnce()
      if (stopped) break
      if (wasConnected) delay = initialMs
      deps.onHealth({ kind: "reconnecting", mailbox, inMs: delay })
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delay)
        wake = () => {
          clearTimeout(t)
          resolve()
        }
      })
      wake = undefined
      delay = Math.min(delay * 2, maxMs)
    }
    deps.onHealth({ kind: "stopped", mailbox })
  })()

  return {
    stop: async () => {
      stopped = true
      wake?.()
      client?.close()
      await loop
    },
    /** Runs a sync now on the open connection (tests, and hosts that get a push from elsewhere). */
    syncNow: () => {
      if (client?.usable) syncSoon(client)
    }
  }
}

/** @see watchMailbox */
export type MailboxWatcher = ReturnType<typeof watchMailbox>
