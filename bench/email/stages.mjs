#!/usr/bin/env node
// Where the email bench's time goes, stage by stage, on the same seeded backlog and without
// IMAP: mailparser alone, the adapter's parseEmail (mailparser + sanitize-html + quoted-reply
// stripping) and its parts, then the adapter's ingestRaw into a hub on a fresh PostgreSQL
// database one mail at a time (what the IMAP watcher does) and with several mails in flight, and
// hub.ingest alone of envelopes built from the parsed mails (core's share).
// Run after a build: node bench/email/stages.mjs [-n 2000] [--in-flight 1,8,50]
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parseArgs } from "node:util"
import pg from "pg"
import { backendCpuMs } from "../ingest/driver.mjs"
import { fmt } from "../shared/cli.mjs"
import { loadEmailAdapter, loadMailComposer, loadReplyParser, loadSimpleParser } from "./deps.mjs"
import { storedMessages, verify } from "./verify.mjs"
import { buildEmailWorkload } from "./workload.mjs"

const { values } = parseArgs({
  options: {
    n: { type: "string", short: "n", default: "2000" },
    "in-flight": { type: "string", default: "1,8,50" },
    seed: { type: "string", default: "42" }
  }
})
const n = Number(values.n)
const inFlight = values["in-flight"].split(",").map(Number)
const adminUrl = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test"

const workload = await buildEmailWorkload({
  n,
  seed: Number(values.seed),
  MailComposer: await loadMailComposer()
})
const expected = { threadOf: workload.threadOf }
const simpleParser = await loadSimpleParser()
const email = await loadEmailAdapter()

/** Runs `work` over every mail with `slots` in flight; wall and this process's CPU per mail. */
const timed = async (label, slots, work, extra = async () => "") => {
  let next = 0
  const cpu = process.cpuUsage()
  const started = performance.now()
  await Promise.all(
    Array.from({ length: slots }, async () => {
      while (next < workload.mails.length) await work(workload.mails[next++])
    })
  )
  const wallMs = performance.now() - started
  const used = process.cpuUsage(cpu)
  const note = await extra(wallMs)
  console.log(
    `${label.padEnd(46)} ${fmt((wallMs * 1000) / n).padStart(7)} µs/mail wall  ${fmt((n * 1000) / wallMs).padStart(6)} mails/s  Node CPU ${fmt((used.user + used.system) / n).padStart(6)} µs/mail${note}`
  )
}

console.log(
  `email stages: n=${n} mails, ${fmt(workload.bytes / 1024 / 1024, 1)} MB, ${workload.threads} senders`
)
// Warm up the parsers' code paths first, so the first stage is not charged for JIT compilation.
for (const raw of workload.mails.slice(0, 200)) await email.parseEmail(raw)
const options = { keepCidLinks: true, skipTextToHtml: true }
await timed("mailparser simpleParser (the baseline)", 1, (raw) => simpleParser(raw, options))
await timed("adapter parseEmail", 1, (raw) => email.parseEmail(raw))
const parsed = []
for (const raw of workload.mails) parsed.push(await simpleParser(raw, options))
let i = 0
await timed("  sanitize-html of the html part", 1, async () => {
  const html = parsed[i++].html
  if (typeof html === "string") email.sanitizeMailHtml(html)
})
const EmailReplyParser = await loadReplyParser()
{
  const replyParser = new EmailReplyParser()
  i = 0
  await timed("  email-reply-parser of the text", 1, async () => {
    const text = parsed[i++].text
    if (text) replyParser.parseReply(text.replace(/\r\n/g, "\n"))
  })
  // A cheaper use of the same parser: only the text above the first quoted (">") line, which
  // is all a reply's visible part can come from; counts how often the result is the same.
  const aboveQuote = (text) => {
    const at = text.search(/^>/m)
    return at < 0 ? text : text.slice(0, at)
  }
  i = 0
  await timed("  email-reply-parser, text above 1st '>' line", 1, async () => {
    const text = parsed[i++].text
    if (text) replyParser.parseReply(aboveQuote(text.replace(/\r\n/g, "\n")))
  })
  let same = 0
  for (const { text } of parsed) {
    const normalized = (text ?? "").replace(/\r\n/g, "\n")
    if (replyParser.parseReply(aboveQuote(normalized)).trim() === replyParser.parseReply(normalized).trim())
      same++
  }
  console.log(`    (the same visible text as the whole-text parse for ${same} of ${n} mails)`)
}

const parsedEmails = []
for (const raw of workload.mails) parsedEmails.push(await email.parseEmail(raw))
const filesDir = await mkdtemp(join(tmpdir(), "dialogi-bench-attachments-"))
const files = email.fileAttachmentStore(filesDir)
i = 0
await timed("  attachment store: files + original html", 1, async () => {
  const mail = parsedEmails[i++]
  for (const a of mail.attachments) await files.put(a)
  if (mail.originalHtml !== undefined)
    await files.put({
      filename: "original.html",
      contentType: "text/html",
      content: new TextEncoder().encode(mail.originalHtml)
    })
})
await rm(filesDir, { recursive: true, force: true })

/** A hub envelope shaped like the adapter's (parts, sender, In-Reply-To, metadata), without files. */
const envelopeOf = (mail) => ({
  channel: "email",
  providerMessageId: mail.messageId,
  from: { address: mail.from.address, ...(mail.from.name ? { name: mail.from.name } : {}), verified: false },
  parts: [
    { _tag: "text", text: mail.displayText || mail.subject },
    ...(mail.html !== undefined ? [{ _tag: "html", html: mail.html }] : [])
  ],
  sentAt: mail.sentAt.getTime(),
  ...(mail.thread.inReplyTo.length > 0 ? { threading: { inReplyTo: mail.thread.inReplyTo } } : {}),
  metadata: {
    subject: mail.subject,
    messageId: mail.messageId,
    automated: mail.automated.length > 0,
    fullText: mail.fullText
  }
})

const { createHub } = await import("@dialogi/core")
const { postgresStore } = await import("@dialogi/store-postgres")
const admin = new pg.Client({ connectionString: adminUrl })
await admin.connect()
try {
  for (const [kind, slots] of [
    ...inFlight.map((k) => ["hub.ingest", k]),
    ...inFlight.map((k) => ["ingestRaw", k])
  ]) {
    const database = `dialogi_bench_email_stages_${Date.now()}`
    await admin.query(`CREATE DATABASE ${database}`)
    const url = new URL(adminUrl)
    url.pathname = `/${database}`
    const attachmentsDir = await mkdtemp(join(tmpdir(), "dialogi-bench-attachments-"))
    try {
      await (await createHub({ store: await postgresStore({ connectionString: url.toString() }) })).close()
      const adapter = email.createEmailAdapter({
        address: "support@example.com",
        threadingSecret: "bench-threading-secret",
        smtp: { host: "127.0.0.1", port: 9, requireTLS: false, ignoreTLS: true },
        attachments: { store: email.fileAttachmentStore(attachmentsDir) }
      })
      const store = await postgresStore({ connectionString: url.toString() })
      const hub = await createHub({ store, adapters: [adapter] })
      const monitor = new pg.Client({ connectionString: url.toString() })
      await monitor.connect()
      const pgBefore = await backendCpuMs(monitor, database)
      const envelopes = new Map(parsedEmails.map((m, k) => [workload.mails[k], envelopeOf(m)]))
      const work =
        kind === "ingestRaw" ? (raw) => adapter.ingestRaw(raw) : (raw) => hub.ingest(envelopes.get(raw))
      const label = kind === "ingestRaw" ? "adapter ingestRaw" : "hub.ingest of parsed mails"
      await timed(`${label}, ${slots} in flight`, slots, work, async () => {
        const pgMs = (await backendCpuMs(monitor, database)) - pgBefore
        const check = verify(await storedMessages(store), expected)
        const ok =
          check.messages === n &&
          check.lost + check.duplicated + check.mixedThreads + check.splitSenders === 0 &&
          check.threads === check.expectedThreads
        return `  PostgreSQL CPU ${fmt((pgMs * 1000) / n).padStart(6)} µs/mail  ${ok ? "verified" : `FAILED ${JSON.stringify(check)}`}`
      })
      await monitor.end()
      await hub.close()
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
      await rm(attachmentsDir, { recursive: true, force: true })
    }
  }
} finally {
  await admin.end()
}
