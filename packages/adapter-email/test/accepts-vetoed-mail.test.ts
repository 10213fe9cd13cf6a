import { describe, expect, it } from "vitest"
import { type AttachmentStore, memoryAttachmentStore } from "../src/index.js"
import {
  customerMail,
  eventually,
  everyEvent,
  mailWithAttachment,
  noCasino,
  rawMailRequest,
  storedProviderIds,
  watchedMailboxForFile
} from "./emailTestKit.js"

const webhookSecret = "veto-webhook-secret"

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

const mailbox = watchedMailboxForFile({
  threadingSecret: "veto-secret",
  webhookSecret,
  imap: { idleDelayMs: 300, pollIntervalMs: 300, afterIngest: "seen" },
  attachments,
  hub: { hooks: { ingest: [noCasino] } }
})

const receivedIds = () => storedProviderIds(mailbox.hub)
const vetoes = async () =>
  (await everyEvent(mailbox.hub)).flatMap((e) => (e.body._tag === "hook.ingest_vetoed" ? [e.body] : []))
const flagsByMessageId = () => mailbox.dovecot.flagsByMessageId("INBOX")

describe("mail an ingest hook vetoed", () => {
  it("IMAP: counts as processed (marked \\Seen, cursor moves past it, mail behind it is stored), vetoed once", async () => {
    await mailbox.dovecot.deliver(
      "support@example.com",
      mailWithAttachment({ messageId: "spam-1@customer.example", body: "Casino bonus, click now" })
    )
    await mailbox.dovecot.deliver(
      "support@example.com",
      customerMail({ messageId: "real-1@customer.example" })
    )
    // The mail behind the vetoed one is reached: the watcher did not stop at the veto.
    await eventually(async () =>
      (await receivedIds()).includes("real-1@customer.example") ? true : undefined
    )
    // Let a few more polls run: a mail left before the cursor would be re-read and vetoed again.
    mailbox.adapter.syncNow()
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
    expect(flags.get("spam-1@customer.example")).toContain("\\Seen")
    expect(flags.get("real-1@customer.example")).toContain("\\Seen")
    expect(await mailbox.adapter.quarantined()).toEqual([])
    // Its attachment and original html were written before the veto, and removed after it.
    expect(liveRefs.size).toBe(0)
  })

  it("raw-mail webhook: answers 200 with the veto (the sender does not retry), stores nothing, one veto", async () => {
    const before = (await vetoes()).length
    const response = await mailbox.adapter.handleWebhook!(
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
