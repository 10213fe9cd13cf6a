import { createHub, type DialogiHub, type IngestHook, MemoryStore } from "@dialogi/core"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  type AttachmentStore,
  createEmailAdapter,
  type EmailAdapter,
  type HealthEvent,
  memoryAttachmentStore,
  memoryKeyValueStore
} from "../src/index.js"
import {
  customerMail,
  eventually,
  imapAccount,
  mailWithAttachment,
  plainSmtp,
  rawMailRequest,
  startDovecot,
  startSmtpRecorder
} from "./emailTestKit.js"

const webhookSecret = "veto-webhook-secret"
const noCasino: IngestHook = {
  name: "no-casino",
  run: (m) =>
    m.parts.some((p) => p._tag === "text" && /casino/i.test(p.text))
      ? { _tag: "veto", reason: "spam" }
      : undefined
}

let dovecot: Awaited<ReturnType<typeof startDovecot>>
let smtp: Awaited<ReturnType<typeof startSmtpRecorder>>
let hub: DialogiHub
let adapter: EmailAdapter
const health: Array<HealthEvent> = []
/** Refs in the attachment store right now: what a vetoed mail must not leave behind. */
const liveRefs = new Set<string>()
const memory = memoryAttachmentStore()
const attachments: AttachmentStore = {
  put: async (a) => {
    const ref = await memory.put(a)
    liveRefs.add(ref)
    return ref
  },
  get: memory.get,
  delete: async (ref) => {
    await memory.delete!(ref)
    liveRefs.delete(ref)
  }
}

beforeAll(async () => {
  dovecot = await startDovecot()
  smtp = await startSmtpRecorder()
  adapter = createEmailAdapter({
    address: "support@example.com",
    threadingSecret: "veto-secret",
    webhookSecret,
    imap: {
      ...imapAccount(dovecot),
      idleDelayMs: 300,
      pollIntervalMs: 300,
      afterIngest: "seen"
    },
    smtp: plainSmtp(smtp.port),
    state: memoryKeyValueStore(),
    attachments: { store: attachments },
    onHealth: (e) => health.push(e)
  })
  hub = await createHub({
    store: await Effect.runPromise(MemoryStore.makeMemoryStore()),
    adapters: [adapter],
    runWorkers: false,
    hooks: { ingest: [noCasino] }
  })
  await eventually(async () => health.find((e) => e.kind === "idle"))
})

afterAll(async () => {
  await hub?.close()
  await smtp?.close()
  await dovecot?.stop()
})

const receivedIds = async () =>
  (await hub.events.after(0)).flatMap((e) =>
    e.body._tag === "message.received" ? [e.body.message.providerMessageId] : []
  )
const vetoes = async () =>
  (await hub.events.after(0)).flatMap((e) => (e.body._tag === "hook.ingest_vetoed" ? [e.body] : []))

/** Message-ID -> IMAP flags of every mail in the mailbox, as Dovecot reports them. */
const flagsByMessageId = async () => {
  const { stdout } = await dovecot.doveadm(
    "-f",
    "tab",
    "fetch",
    "-u",
    "support@example.com",
    "hdr.message-id flags",
    "mailbox",
    "INBOX"
  )
  const rows = stdout.trim().split("\n").slice(1)
  return new Map(
    rows.map((row) => row.split("\t") as [string, string]).map(([id, flags]) => [id.trim(), flags])
  )
}

describe("mail an ingest hook vetoed", () => {
  it("IMAP: counts as processed (marked \\Seen, cursor moves past it, mail behind it is stored), vetoed once", async () => {
    await dovecot.deliver(
      "support@example.com",
      mailWithAttachment({ messageId: "spam-1@customer.example", body: "Casino bonus, click now" })
    )
    await dovecot.deliver("support@example.com", customerMail({ messageId: "real-1@customer.example" }))
    // The mail behind the vetoed one is reached: the watcher did not stop at the veto.
    await eventually(async () =>
      (await receivedIds()).includes("real-1@customer.example") ? true : undefined
    )
    // Let a few more polls run: a mail left before the cursor would be re-read and vetoed again.
    adapter.syncNow()
    await new Promise((r) => setTimeout(r, 1_000))
    expect(await receivedIds()).toEqual(["real-1@customer.example"])
    expect(await vetoes()).toEqual([
      expect.objectContaining({
        hook: "no-casino",
        reason: "spam",
        channel: "email",
        providerMessageId: "spam-1@customer.example",
        address: "anna@customer.example"
      })
    ])
    const flags = await flagsByMessageId()
    expect(flags.get("<spam-1@customer.example>")).toContain("\\Seen")
    expect(flags.get("<real-1@customer.example>")).toContain("\\Seen")
    expect(await adapter.quarantined()).toEqual([])
    // Its attachment and original html were written before the veto, and removed after it.
    expect(liveRefs.size).toBe(0)
  })

  it("raw-mail webhook: answers 200 with the veto (the sender does not retry), stores nothing, one veto", async () => {
    const before = (await vetoes()).length
    const response = await adapter.handleWebhook!(
      rawMailRequest(
        webhookSecret,
        mailWithAttachment({ messageId: "spam-2@customer.example", body: "More CASINO offers" })
      )
    )
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ kind: "vetoed", hook: "no-casino", reason: "spam" })
    expect(await receivedIds()).not.toContain("spam-2@customer.example")
    const after = await vetoes()
    expect(after).toHaveLength(before + 1)
    expect(after.at(-1)).toMatchObject({ providerMessageId: "spam-2@customer.example" })
    expect(liveRefs.size).toBe(0)
  })
})
