import { readFileSync } from "node:fs"
import type { InboundEnvelopeInput } from "@dialogi/core"
import { createHub, type DialogiHub, MemoryStore } from "@dialogi/core"
import { Effect } from "effect"
import { afterAll, beforeEach, describe, expect, it } from "vitest"
import { createEmailAdapter, type EmailAdapter, memoryAttachmentStore } from "../src/index.js"
import { customerMail, eventually, header, plainSmtp, startSmtpRecorder } from "./emailTestKit.js"

const smtp = await startSmtpRecorder()
afterAll(() => smtp.close())
const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8")
const bytes = (s: string) => new TextEncoder().encode(s)

let hub: DialogiHub
let adapter: EmailAdapter
let envelopes: Array<InboundEnvelopeInput>

beforeEach(async () => {
  await hub?.close()
  smtp.received.length = 0
  adapter = createEmailAdapter({
    address: "support@example.com",
    threadingSecret: "loop-secret",
    smtp: plainSmtp(smtp.port),
    attachments: { store: memoryAttachmentStore(), maxBytes: 100 },
    autoAcknowledge: { text: "Thanks, we got your mail and answer within one business day." }
  })
  hub = await createHub({
    store: await Effect.runPromise(MemoryStore.makeMemoryStore()),
    adapters: [adapter]
  })
  // Re-start with a recording context, to see the envelopes (the hub does not expose metadata).
  envelopes = []
  await adapter.start!({
    ingest: (envelope) => {
      envelopes.push(envelope)
      return hub.ingest(envelope)
    },
    updateStatus: hub.updateStatus,
    log: () => undefined
  })
})
afterAll(() => hub?.close())

describe("loop guard", () => {
  it("acknowledges a person's new mail once, marked Auto-Submitted, and not again within the interval", async () => {
    await adapter.ingestRaw(bytes(customerMail({ messageId: "p1@customer.example" })))
    const [ack] = await smtp.waitFor(1)
    expect(header(ack!.raw, "Auto-Submitted")).toBe("auto-replied")
    expect(header(ack!.raw, "X-Auto-Response-Suppress")).toBe("OOF, AutoReply")
    expect(header(ack!.raw, "In-Reply-To")).toBe("<p1@customer.example>")
    await adapter.ingestRaw(
      bytes(customerMail({ messageId: "p2@customer.example", subject: "another thing" }))
    )
    await new Promise((r) => setTimeout(r, 300))
    expect(smtp.received).toHaveLength(1)
  })

  it("stores an out-of-office reply as automated and never acknowledges it", async () => {
    const outcome = await adapter.ingestRaw(bytes(fixture("outlook-out-of-office.eml")))
    expect(outcome.kind).toBe("stored")
    await new Promise((r) => setTimeout(r, 300))
    expect(smtp.received).toHaveLength(0)
    expect(envelopes[0]!.metadata).toMatchObject({
      automated: true,
      automatedReasons: ["Auto-Submitted: auto-replied", "x-auto-response-suppress present"]
    })
  })
})

describe("bounces", () => {
  it("marks the bounced reply failed with the reason instead of opening a conversation", async () => {
    const first = await adapter.ingestRaw(
      bytes(customerMail({ messageId: "gone-1@customer.example", from: "gone@customer.example" }))
    )
    if (first.kind !== "stored") throw new Error("not stored")
    await smtp.waitFor(1) // the acknowledgement
    const reply = await hub.reply(first.receipt.conversationId, "Here is your answer.")
    const sent = await eventually(async () => {
      const m = (await hub.thread(first.receipt.conversationId)).messages.find((x) => x.id === reply.id)
      return m?.status._tag === "sent" ? m : undefined
    })
    const conversationsBefore = (await hub.listConversations()).items.length
    const outcome = await adapter.ingestRaw(
      bytes(fixture("mailer-daemon-bounce.eml").replace("ORIGINAL_ID", sent.providerMessageId!))
    )
    expect(outcome).toEqual({ kind: "bounce", originalMessageId: sent.providerMessageId })
    const failed = (await hub.thread(first.receipt.conversationId)).messages.find((x) => x.id === reply.id)!
    expect(failed.status).toMatchObject({ _tag: "failed", retryable: false, code: "5.1.1" })
    expect(failed.status._tag === "failed" && failed.status.reason).toContain("User unknown")
    expect((await hub.listConversations()).items.length).toBe(conversationsBefore)
  })

  it("stores a bounce of mail we do not know as automated mail", async () => {
    const outcome = await adapter.ingestRaw(bytes(fixture("mailer-daemon-bounce.eml")))
    expect(outcome.kind).toBe("stored")
    expect(envelopes[0]!.metadata).toMatchObject({ automated: true })
    await new Promise((r) => setTimeout(r, 200))
    expect(smtp.received).toHaveLength(0)
  })
})

describe("bad mail", () => {
  it("quarantines mail it cannot parse with the reason and keeps storing the next ones", async () => {
    const bad = await adapter.ingestRaw(bytes(fixture("no-from.eml")), "INBOX#7")
    expect(bad).toEqual({ kind: "quarantined", reason: "[dialogi/email] cannot parse mail: no From address" })
    const good = await adapter.ingestRaw(bytes(customerMail({ messageId: "after-bad@customer.example" })))
    expect(good.kind).toBe("stored")
    const [entry] = await adapter.quarantined()
    expect(entry).toMatchObject({
      source: "INBOX#7",
      reason: expect.stringContaining("no From address"),
      rawRef: expect.any(String)
    })
  })

  it("keeps attachments within the size limit and notes the ones over it", async () => {
    await adapter.ingestRaw(bytes(fixture("iso-8859-1-html-with-attachment.eml")))
    const envelope = envelopes[0]!
    expect(envelope.parts.map((p) => p._tag)).toEqual(["text", "html", "attachment"])
    // The original html (143 bytes) is over the 100-byte limit too, so it is noted instead of kept.
    expect(envelope.metadata).toMatchObject({
      skippedAttachments: [
        { filename: "huge.bin", size: 114 },
        { filename: "original.html", size: 143 }
      ]
    })
    expect(envelope.metadata?.originalHtmlRef).toBeUndefined()
  })

  it("keeps the same mail without Message-ID once, whatever the retries", async () => {
    await adapter.ingestRaw(bytes(fixture("no-message-id.eml")))
    const again = await adapter.ingestRaw(bytes(fixture("no-message-id.eml")))
    expect(again.kind === "stored" && again.receipt.duplicate).toBe(true)
  })
})
