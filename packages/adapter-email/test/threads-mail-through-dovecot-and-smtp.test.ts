import { mkdtemp } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createHub, type DialogiHub, MemoryStore } from "@dialogi/core"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  createEmailAdapter,
  type EmailAdapter,
  fileKeyValueStore,
  type HealthEvent,
  memoryAttachmentStore
} from "../src/index.js"
import {
  customerMail,
  eventually,
  header,
  imapAccount,
  plainSmtp,
  startDovecot,
  startSmtpRecorder
} from "./emailTestKit.js"

type Dovecot = Awaited<ReturnType<typeof startDovecot>>
type Smtp = Awaited<ReturnType<typeof startSmtpRecorder>>

let dovecot: Dovecot
let smtp: Smtp
let hub: DialogiHub
let adapter: EmailAdapter
const health: Array<HealthEvent> = []
let stateDir: string
beforeAll(async () => {
  dovecot = await startDovecot()
  stateDir = await mkdtemp(join(tmpdir(), "dialogi-email-state-"))
  smtp = await startSmtpRecorder()
  adapter = createEmailAdapter({
    address: "support@example.com",
    fromName: "Example Support",
    threadingSecret: "e2e-thread-secret",
    imap: {
      ...imapAccount(dovecot),
      idleDelayMs: 300,
      pollIntervalMs: 5000,
      backoff: { initialMs: 100, maxMs: 1000 }
    },
    smtp: plainSmtp(smtp.port),
    state: fileKeyValueStore(stateDir),
    attachments: { store: memoryAttachmentStore() },
    onHealth: (e) => health.push(e)
  })
  hub = await createHub({
    store: await Effect.runPromise(MemoryStore.makeMemoryStore()),
    adapters: [adapter]
  })
  await eventually(async () => health.find((e) => e.kind === "idle"))
})

afterAll(async () => {
  await hub?.close()
  await smtp?.close()
  await dovecot?.stop()
})

const received = async () =>
  (await hub.events.after(0)).flatMap((e) => (e.body._tag === "message.received" ? [e.body] : []))

describe("mail through Dovecot and SMTP", () => {
  it("delivers over IMAP IDLE, replies as a proper reply, and threads the customer's answer back", async () => {
    const t0 = Date.now()
    await dovecot.deliver(
      "support@example.com",
      customerMail({ messageId: "first@customer.example" }),
      "anna@customer.example"
    )
    const first = await eventually(async () =>
      (await received()).find((m) => m.message.providerMessageId === "first@customer.example")
    )
    const latencyMs = Date.now() - t0
    expect(latencyMs).toBeLessThan(3000)
    console.info(`[email e2e] LMTP delivery -> hub via IDLE: ${latencyMs} ms`)

    await hub.reply(first.conversationId, "We are looking into order 1234.")
    const [sent] = await smtp.waitFor(1, 10_000)
    expect(sent!.to).toEqual(["anna@customer.example"])
    expect(header(sent!.raw, "In-Reply-To")).toBe("<first@customer.example>")
    expect(header(sent!.raw, "References")).toBe("<first@customer.example>")
    expect(header(sent!.raw, "Subject")).toBe("Re: Order 1234 never arrived")
    const ourId = header(sent!.raw, "Message-ID")!
    expect(ourId).toMatch(/^<dlg\./)
    expect(header(sent!.raw, "Reply-To")).toMatch(/^support\+cv_[a-z0-9]+\.[a-z0-9]{16}@example\.com$/)
    const stored = await eventually(async () => {
      const thread = await hub.thread(first.conversationId)
      const out = thread.messages.find((m) => m.direction === "outbound")
      return out?.status._tag === "sent" ? out : undefined
    })
    expect(`<${stored.providerMessageId}>`).toBe(ourId)

    // The customer's mail program answers: In-Reply-To our Message-ID, sent to our Reply-To.
    await dovecot.deliver(
      header(sent!.raw, "Reply-To")!,
      customerMail({
        messageId: "second@customer.example",
        to: header(sent!.raw, "Reply-To")!,
        subject: "Re: Order 1234 never arrived",
        inReplyTo: ourId,
        references: `<first@customer.example> ${ourId}`,
        body: "Thanks! It is order 1234.\n\nOn Sat, Example Support wrote:\n> We are looking into order 1234.\n"
      }),
      "anna@customer.example"
    )
    const answer = await eventually(async () =>
      (await received()).find((m) => m.message.providerMessageId === "second@customer.example")
    )
    expect(answer.conversationId).toBe(first.conversationId)
    expect(answer.message.parts[0]).toEqual({ _tag: "text", text: "Thanks! It is order 1234." })
  })

  it("a forged References header from another sender does not join the thread", async () => {
    const anna = (await received()).find((m) => m.message.providerMessageId === "first@customer.example")!
    const thread = await hub.thread(anna.conversationId)
    const ours = thread.messages.find((m) => m.direction === "outbound")!.providerMessageId!
    await dovecot.deliver(
      "support@example.com",
      customerMail({
        messageId: "forged@evil.example",
        from: "Mallory <mallory@evil.example>",
        references: `<first@customer.example> <${ours}>`,
        inReplyTo: `<${ours}>`
      }),
      "mallory@evil.example"
    )
    const forged = await eventually(async () =>
      (await received()).find((m) => m.message.providerMessageId === "forged@evil.example")
    )
    expect(forged.conversationId).not.toBe(anna.conversationId)
    expect((await hub.thread(anna.conversationId)).messages.map((m) => m.providerMessageId)).not.toContain(
      "forged@evil.example"
    )
  })

  it("resumes from the cursor after a restart: mail that arrived meanwhile is stored once, nothing re-read", async () => {
    const before = (await received()).length
    await adapter.stop?.()
    for (let i = 0; i < 5; i++)
      await dovecot.deliver(
        "support@example.com",
        customerMail({ messageId: `while-down-${i}@customer.example`, from: `c${i}@customer.example` }),
        `c${i}@customer.example`
      )
    // A new adapter object over the same persisted state directory, as after a process restart.
    const ingested: Array<string> = []
    const restarted = createEmailAdapter({
      address: "support@example.com",
      threadingSecret: "e2e-thread-secret",
      imap: { ...imapAccount(dovecot), idleDelayMs: 300 },
      smtp: plainSmtp(smtp.port),
      state: fileKeyValueStore(stateDir),
      attachments: { store: memoryAttachmentStore() }
    })
    await restarted.start!({
      ingest: (envelope) => {
        ingested.push(envelope.providerMessageId)
        return hub.ingest(envelope)
      },
      updateStatus: hub.updateStatus,
      log: () => undefined
    })
    try {
      await eventually(async () => ((await received()).length === before + 5 ? true : undefined))
      expect(ingested).toEqual([0, 1, 2, 3, 4].map((i) => `while-down-${i}@customer.example`))
      const ids = (await received()).map((m) => m.message.providerMessageId)
      expect(new Set(ids).size).toBe(ids.length)
    } finally {
      await restarted.stop!()
    }
  })
})
