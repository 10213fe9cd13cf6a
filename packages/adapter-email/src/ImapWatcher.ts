import { ImapFlow } from "imapflow"
import type { ImapAccountConfig } from "./config.js"
import type { HealthEvent } from "./health.js"
import type { KeyValueStore } from "./KeyValueStore.js"
import { makeMailQueue } from "./MailQueue.js"
import { senderKey } from "./senderKey.js"

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
 * Fetches every mail above the cursor in UID order and hands each fetched batch to `handle`
 * at once (a sender's mails one after another), so the hub commits a batch in a few group
 * transactions instead of one per mail. The cursor is saved each time the run of committed
 * mails from the first one read grows: it never passes a mail that failed or is still in
 * flight, so a crash or a dropped connection resumes at the first mail not surely stored, and
 * the committed mails after it are read again (the hub dedupes on Message-ID). After a failed
 * mail no further batch is fetched; the sync rejects once the mails handed on have finished.
 * A UIDVALIDITY change restarts from UID 1 for the same reason.
 */
export const syncMailbox = async (
  client: ImapFlow,
  deps: Pick<WatcherDeps, "account" | "mailbox" | "state" | "handle" | "onHealth">
): Promise<{ stored: number; lastUid: number }> => {
  const key = cursorKey(deps.account, deps.mailbox)
  const batchSize = deps.account.batchSize ?? 50
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
    // Cursor writes are chained so a slower earlier write never lands after a later one; a
    // failed write is reported at the end (the cursor then stays behind: mail is read again).
    let cursorWrites: Promise<void> = Promise.resolve()
    let cursorError: unknown
    const queue = makeMailQueue<{ uid: number; source: Uint8Array; orderKey: string }>({
      concurrency: batchSize,
      handle: (message) =>
        deps.handle(message.source, { mailbox: deps.mailbox, uid: message.uid, uidValidity }),
      onCommittedPrefix: (lastUid) => {
        cursor = { uidValidity, lastUid }
        const value = JSON.stringify(cursor)
        cursorWrites = cursorWrites
          .then(() => deps.state.set(key, value))
          .catch((e: unknown) => {
            cursorError ??= e
          })
      }
    })
    // Every committed mail, also those after a failed one: re-reading them is harmless, and
    // once moved away they are not even re-read.
    const markProcessed = async () => {
      const uids = queue.takeCommitted()
      if (uids.length > 0 && client.usable) await afterProcessed(client, deps, uids)
    }
    const errors: Array<unknown> = []
    try {
      for (const batch of chunks(pending, batchSize)) {
        // The next batch is fetched while the last one is still being stored, so the hub never
        // waits for IMAP; at most two batches are held in memory.
        await queue.outstandingAtMost(batchSize)
        if (queue.failed()) break
        // Between fetches: any other IMAP command inside a running FETCH iteration deadlocks.
        await markProcessed()
        const fetched: Array<{ uid: number; source: Uint8Array; orderKey: string }> = []
        for await (const message of client.fetch(batch.join(","), { uid: true, source: true }, { uid: true }))
          if (message.source && message.uid > cursor.lastUid)
            fetched.push({ uid: message.uid, source: message.source, orderKey: senderKey(message.source) })
        queue.add(fetched)
      }
    } catch (e) {
      errors.push(e)
    }
    // Also after a failure: the mails already handed on finish before the lock is released.
    const result = await queue.settled()
    await cursorWrites
    await markProcessed().catch((e: unknown) => errors.push(e))
    if (result.failure) errors.unshift(result.failure.error)
    if (cursorError !== undefined) errors.push(cursorError)
    if (errors.length > 0) throw errors[0]
    const stored = result.committed.length
    return { stored, lastUid: cursor.lastUid }
  } finally {
    lock.release()
  }
}

/**
 * Flags or moves mail the hub has committed. A failure here never loses a mail: at worst it
 * stays where it was, unflagged (and, when the cursor is still before it, is read again and
 * deduped by the hub).
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
