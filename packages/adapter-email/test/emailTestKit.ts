import { execFile, spawn } from "node:child_process"
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises"
import { connect, createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import {
  createHub,
  type DialogiEvent,
  type DialogiHub,
  type HubOptions,
  type IngestHook,
  MemoryStore
} from "@dialogi/core"
import { Effect } from "effect"
import nodemailer from "nodemailer"
import { SMTPServer } from "smtp-server"
import { afterAll, beforeAll } from "vitest"
import {
  type AttachmentStore,
  createEmailAdapter,
  type EmailAdapter,
  type HealthEvent,
  type ImapAccountConfig,
  memoryAttachmentStore,
  memoryKeyValueStore,
  signRawMail
} from "../src/index.js"

const run = promisify(execFile)

// Dovecot's master forks into the background and would hold execFile's stdout pipe open
// forever: start it with no pipes and wait for the launcher to exit.
const launch = (command: string, args: ReadonlyArray<string>) =>
  new Promise<void>((resolve, reject) => {
    const child = spawn(command, args, { stdio: "ignore" })
    child.once("error", reject)
    child.once("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} exited with ${code}`))
    )
  })

/** A free TCP port on loopback (asked from the OS, then released). */
export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** A throwaway Dovecot (IMAP + LMTP on loopback, any user, password "pass"). */
export const startDovecot = async () => {
  const dir = await mkdtemp(join(tmpdir(), "dialogi-dovecot-"))
  const imapPort = await freePort()
  const lmtpPort = await freePort()
  await launch("/work/shared/dovecot/start.sh", [dir, String(imapPort), String(lmtpPort)])
  /** The processes this Dovecot's master forked (imap, imap-login, lmtp, auth, ...), by name. */
  const masterChildren = async () => {
    const master = Number((await readFile(join(dir, "run", "master.pid"), "utf8")).trim())
    const children: Array<{ pid: number; name: string }> = []
    for (const pid of await readdir("/proc")) {
      if (!/^\d+$/.test(pid)) continue
      const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "")
      const m = /^\d+ \((.*)\) \S+ (\d+)/.exec(stat)
      if (m && Number(m[2]) === master) children.push({ pid: Number(pid), name: m[1]! })
    }
    return children
  }
  // The script returns when the master forked; wait until IMAP answers.
  for (let i = 0; i < 50; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(imapPort, "127.0.0.1")
      socket.once("data", () => {
        socket.destroy()
        resolve(true)
      })
      socket.once("error", () => resolve(false))
    })
    if (ok) break
    await new Promise((r) => setTimeout(r, 100))
  }
  const doveadm = (...args: string[]) => run("doveadm", ["-c", join(dir, "dovecot.conf"), ...args])
  const lmtp = nodemailer.createTransport({
    host: "127.0.0.1",
    port: lmtpPort,
    lmtp: true,
    ignoreTLS: true
  } as never)
  /**
   * Delivers one raw mail to a mailbox, exactly as an MTA hands it to Dovecot. Rejects unless
   * Dovecot took it: over LMTP a refusal after DATA (e.g. "451 Shutting down" during a
   * restart) is per recipient, and nodemailer resolves with it in `rejected` instead.
   */
  const deliver = async (to: string, raw: string | Buffer, from = "sender@customer.example") => {
    const info = await lmtp.sendMail({ envelope: { from, to }, raw })
    if (info.rejected.length > 0 || info.accepted.length === 0)
      throw new Error(`LMTP delivery to ${to} refused: ${JSON.stringify(info.rejected)}`)
    return info
  }
  return {
    dir,
    imapPort,
    lmtpPort,
    deliver,
    /**
     * Delivers like an MTA does while Dovecot is down or restarting: a refused delivery is tried
     * again every 100 ms until Dovecot takes it. A delivery Dovecot took but could not confirm
     * before it stopped is retried too, so the mailbox may then hold that mail twice, under one
     * Message-ID, exactly as it happens in production.
     */
    deliverRetrying: async (to: string, raw: string) => {
      for (;;) {
        const ok = await deliver(to, raw).then(
          () => true,
          () => false
        )
        if (ok) return
        await new Promise((r) => setTimeout(r, 100))
      }
    },
    doveadm,
    /**
     * Message-ID (without angle brackets) -> IMAP flags (space-separated, "" for none) of every
     * mail in a mailbox of the support account, as Dovecot itself reports them.
     */
    flagsByMessageId: async (mailbox: string) => {
      const { stdout } = await doveadm(
        "-f",
        "tab",
        "fetch",
        "-u",
        "support@example.com",
        "hdr.message-id flags",
        "mailbox",
        mailbox
      )
      // Skip the column-header row, and the empty line an empty folder leaves.
      return new Map(
        stdout
          .trim()
          .split("\n")
          .slice(1)
          .filter((row) => row.length > 0)
          .map((row) => row.split("\t") as [string, string?])
          .map(([id, flags]) => [id.trim().slice(1, -1), flags ?? ""])
      )
    },
    stop: async () => {
      lmtp.close()
      await run("dovecot", ["-c", join(dir, "dovecot.conf"), "stop"]).catch(() => undefined)
      await new Promise((r) => setTimeout(r, 200))
      await rm(dir, { recursive: true, force: true })
    },
    /**
     * Kills the IMAP session processes of this Dovecot (children of its master named imap),
     * as a crash or a network drop would end them: the client sees its connection die.
     */
    dropImapSessions: async () => {
      let killed = 0
      for (const child of await masterChildren()) {
        if (child.name !== "imap") continue
        process.kill(child.pid, "SIGKILL")
        killed += 1
      }
      return killed
    },
    /**
     * Stops this Dovecot and starts it again on the same directories and ports, as
     * `systemctl restart dovecot` does: systemd's default KillMode=control-group sends SIGTERM to
     * every process of the service, not only the master. (The master alone lets its IMAP
     * sessions keep serving the shared maildir for up to half a minute.) Returns once the old
     * processes are gone and the new master runs, so every client connected before lost its
     * connection.
     */
    restart: async () => {
      const before = await masterChildren()
      await run("dovecot", ["-c", join(dir, "dovecot.conf"), "stop"])
      for (const child of before) if (isAlive(child.pid)) process.kill(child.pid, "SIGTERM")
      for (let i = 0; i < 50 && before.some((c) => isAlive(c.pid)); i++)
        await new Promise((r) => setTimeout(r, 100))
      for (const child of before) if (isAlive(child.pid)) process.kill(child.pid, "SIGKILL")
      for (let i = 0; i < 50; i++) {
        const up = await launch("dovecot", ["-c", join(dir, "dovecot.conf")]).then(
          () => true,
          () => false
        )
        if (up) return
        await new Promise((r) => setTimeout(r, 100))
      }
      throw new Error("dovecot did not restart")
    }
  }
}

/** A received SMTP message, as the test SMTP server recorded it. */
export interface RecordedMail {
  readonly from: string
  readonly to: ReadonlyArray<string>
  readonly raw: string
}

/** A real SMTP server in the test process that records what it receives and can fail on cue. */
export const startSmtpRecorder = async () => {
  const received: Array<RecordedMail> = []
  const faults: Array<{ code: number; message: string }> = []
  const waiters: Array<() => void> = []
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    onRcptTo(_address, _session, callback) {
      const fault = faults.shift()
      if (!fault) return callback()
      callback(Object.assign(new Error(fault.message), { responseCode: fault.code }))
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = []
      stream.on("data", (c: Buffer) => chunks.push(c))
      stream.on("end", () => {
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString("utf8")
        })
        for (const w of waiters.splice(0)) w()
        callback()
      })
    }
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()))
  const port = (server.server.address() as { port: number }).port
  return {
    port,
    received,
    faults,
    /** Resolves once `count` mails have arrived (or rejects after `timeoutMs`). */
    waitFor: async (count: number, timeoutMs = 5000) => {
      const deadline = Date.now() + timeoutMs
      while (received.length < count) {
        if (Date.now() > deadline) throw new Error(`expected ${count} mails, got ${received.length}`)
        await new Promise<void>((resolve) => {
          waiters.push(resolve)
          setTimeout(resolve, 100)
        })
      }
      return received
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

/** A header value of a raw mail (first occurrence, unfolded). */
export const header = (raw: string, name: string): string | undefined => {
  const head = raw.split(/\r?\n\r?\n/)[0]!.replace(/\r?\n[ \t]+/g, " ")
  return new RegExp(`^${name}:[ \\t]*(.*)$`, "im").exec(head)?.[1]?.trim()
}

/** A plain customer mail as a mail program would write it. */
export const customerMail = (fields: {
  messageId: string
  from?: string
  to?: string
  subject?: string
  body?: string
  inReplyTo?: string
  references?: string
  extraHeaders?: string
  date?: Date
}) =>
  [
    `From: ${fields.from ?? "Anna Virtanen <anna@customer.example>"}`,
    `To: ${fields.to ?? "support@example.com"}`,
    `Subject: ${fields.subject ?? "Order 1234 never arrived"}`,
    `Date: ${(fields.date ?? new Date("2025-03-01T10:00:00Z")).toUTCString()}`,
    `Message-ID: <${fields.messageId}>`,
    ...(fields.inReplyTo ? [`In-Reply-To: ${fields.inReplyTo}`] : []),
    ...(fields.references ? [`References: ${fields.references}`] : []),
    ...(fields.extraHeaders ? [fields.extraHeaders] : []),
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: 8bit",
    "",
    fields.body ?? "Hello, my order 1234 has not arrived yet. Can you check?",
    ""
  ].join("\r\n")

/** A customer mail with text, html and a small PDF attachment, as a mail program sends it. */
export const mailWithAttachment = (fields: { messageId: string; from?: string; body?: string }) =>
  [
    `From: ${fields.from ?? "Anna Virtanen <anna@customer.example>"}`,
    "To: support@example.com",
    "Subject: Invoice attached",
    "Date: Sat, 01 Mar 2025 10:00:00 +0000",
    `Message-ID: <${fields.messageId}>`,
    "MIME-Version: 1.0",
    'Content-Type: multipart/mixed; boundary="mixed"',
    "",
    "--mixed",
    'Content-Type: multipart/alternative; boundary="alt"',
    "",
    "--alt",
    "Content-Type: text/plain; charset=utf-8",
    "",
    fields.body ?? "Here is the invoice.",
    "--alt",
    "Content-Type: text/html; charset=utf-8",
    "",
    `<p>${fields.body ?? "Here is the invoice."}</p>`,
    "--alt--",
    "--mixed",
    'Content-Type: application/pdf; name="invoice.pdf"',
    'Content-Disposition: attachment; filename="invoice.pdf"',
    "Content-Transfer-Encoding: base64",
    "",
    Buffer.from("%PDF-1.4\n%%EOF\n").toString("base64"),
    "--mixed--",
    ""
  ].join("\r\n")

/** A signed raw-mail webhook request, as an MTA pipe would post it. */
export const rawMailRequest = (secret: string, raw: string) => {
  const bytes = new TextEncoder().encode(raw)
  return new Request("http://localhost/email/inbound", {
    method: "POST",
    headers: { "content-type": "message/rfc822", "x-dialogi-signature": signRawMail(secret, bytes) },
    body: bytes
  })
}

/** Polls `check` until it returns a value (or throws after `timeoutMs`). */
export const eventually = async <A>(check: () => Promise<A | undefined>, timeoutMs = 10_000): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error("condition not met in time")
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** The IMAP account of the test Dovecot's support mailbox (timings and flags are each test's). */
export const imapAccount = (dovecot: { readonly imapPort: number }) => ({
  host: "127.0.0.1",
  port: dovecot.imapPort,
  secure: false,
  auth: { user: "support@example.com", pass: "pass" }
})

/** SMTP settings for a local server without TLS (the recorder, or a port nothing listens on). */
export const plainSmtp = (port: number) => ({ host: "127.0.0.1", port, requireTLS: false, ignoreTLS: true })

/** A started test Dovecot (see {@link startDovecot}). */
export type Dovecot = Awaited<ReturnType<typeof startDovecot>>

/** What differs between the tests that run the IMAP watcher on the test Dovecot into a memory hub. */
export interface WatchedMailboxOptions {
  readonly threadingSecret: string
  /** The watcher's timings, batch size and afterIngest; the account is the test Dovecot's. */
  readonly imap: Omit<ImapAccountConfig, "host" | "port" | "secure" | "auth">
  /** Default: a memory store. */
  readonly attachments?: AttachmentStore
  readonly webhookSecret?: string
  /** Hub options beyond the memory store, the adapter and `runWorkers: false`. */
  readonly hub?: Pick<HubOptions, "hooks" | "log">
  /** Puts mail into the mailbox before the watcher connects (so it is one backlog). */
  readonly beforeWatching?: (dovecot: Dovecot) => Promise<void>
  /**
   * Finish the setup only once the watcher reported `idle` (connected, read the mailbox, waits
   * in IDLE). Default true; off for a test whose first sync is meant to fail.
   */
  readonly untilIdle?: boolean
}

/** The running setup of {@link watchedMailboxForFile}; its fields are set once `beforeAll` ran. */
export interface WatchedMailbox {
  readonly dovecot: Dovecot
  readonly hub: DialogiHub
  readonly adapter: EmailAdapter
  /** Every health event of the adapter, in order. */
  readonly health: Array<HealthEvent>
}

/**
 * A Dovecot and a memory hub with an email adapter watching the support mailbox, started before
 * the file's tests and stopped after them. Outbound SMTP points at a closed port: the hub runs no
 * send worker, so these tests never send.
 */
export const watchedMailboxForFile = (options: WatchedMailboxOptions): WatchedMailbox => {
  const setup = { health: [] as Array<HealthEvent> } as {
    dovecot: Dovecot
    hub: DialogiHub
    adapter: EmailAdapter
    health: Array<HealthEvent>
  }
  beforeAll(async () => {
    setup.dovecot = await startDovecot()
    await options.beforeWatching?.(setup.dovecot)
    setup.adapter = createEmailAdapter({
      address: "support@example.com",
      threadingSecret: options.threadingSecret,
      ...(options.webhookSecret === undefined ? {} : { webhookSecret: options.webhookSecret }),
      imap: { ...imapAccount(setup.dovecot), ...options.imap },
      smtp: plainSmtp(1),
      state: memoryKeyValueStore(),
      attachments: { store: options.attachments ?? memoryAttachmentStore() },
      onHealth: (e) => setup.health.push(e)
    })
    setup.hub = await createHub({
      store: await Effect.runPromise(MemoryStore.makeMemoryStore()),
      adapters: [setup.adapter],
      runWorkers: false,
      ...options.hub
    })
    if (options.untilIdle ?? true) await eventually(async () => setup.health.find((e) => e.kind === "idle"))
  })
  afterAll(async () => {
    await setup.hub?.close()
    await setup.dovecot?.stop()
  })
  return setup
}

/** Every event in the hub's log, read page by page from the start. */
export const everyEvent = async (hub: DialogiHub) => {
  const events: Array<DialogiEvent> = []
  for (let cursor = 0; ; ) {
    const page = await hub.events.after(cursor, { limit: 5000 })
    if (page.length === 0) return events
    events.push(...page)
    cursor = page.at(-1)!.seq
  }
}

/** Provider ids of every message the hub stored, one entry per stored message, in log order. */
export const storedProviderIds = async (hub: DialogiHub) =>
  (await everyEvent(hub)).flatMap((e) =>
    e.body._tag === "message.received" ? [e.body.message.providerMessageId ?? "(none)"] : []
  )

/** An ingest hook that vetoes mail mentioning a casino as spam. */
export const noCasino: IngestHook = {
  name: "no-casino",
  run: (m) =>
    m.parts.some((p) => p._tag === "text" && /casino/i.test(p.text))
      ? { _tag: "veto", reason: "spam" }
      : undefined
}
