import { execFile, spawn } from "node:child_process"
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises"
import { connect, createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import nodemailer from "nodemailer"
import { SMTPServer } from "smtp-server"
import { signRawMail } from "../src/index.js"

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
  const lmtp = nodemailer.createTransport({
    host: "127.0.0.1",
    port: lmtpPort,
    lmtp: true,
    ignoreTLS: true
  } as never)
  return {
    dir,
    imapPort,
    lmtpPort,
    /**
     * Delivers one raw mail to a mailbox, exactly as an MTA hands it to Dovecot. Rejects unless
     * Dovecot took it: over LMTP a refusal after DATA (e.g. "451 Shutting down" during a
     * restart) is per recipient, and nodemailer resolves with it in `rejected` instead.
     */
    deliver: async (to: string, raw: string | Buffer, from = "sender@customer.example") => {
      const info = await lmtp.sendMail({ envelope: { from, to }, raw })
      if (info.rejected.length > 0 || info.accepted.length === 0)
        throw new Error(`LMTP delivery to ${to} refused: ${JSON.stringify(info.rejected)}`)
      return info
    },
    doveadm: (...args: string[]) => run("doveadm", ["-c", join(dir, "dovecot.conf"), ...args]),
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
