import { describe, expect, it } from "vitest"
import { type AttachmentStore, memoryAttachmentStore } from "../src/index.js"
import {
  customerMail,
  eventually,
  mailWithAttachment,
  storedProviderIds,
  watchedMailboxForFile
} from "./emailTestKit.js"

const warnings: Array<string> = []
/** While true, the attachment store is down (an S3 outage): a mail with an attachment fails. */
let failing = true
const memory = memoryAttachmentStore()
const flakyAttachments: AttachmentStore = {
  put: async (a) => {
    if (failing) throw new Error("attachment store unreachable")
    return memory.put(a)
  },
  get: memory.get
}

const mailbox = watchedMailboxForFile({
  threadingSecret: "retry-secret",
  // All three are in the mailbox before the watcher connects: one batch, in UID order.
  beforeWatching: async (dovecot) => {
    await dovecot.deliver("support@example.com", customerMail({ messageId: "batch-a@customer.example" }))
    await dovecot.deliver(
      "support@example.com",
      mailWithAttachment({ messageId: "batch-b@customer.example" })
    )
    await dovecot.deliver("support@example.com", customerMail({ messageId: "batch-c@customer.example" }))
  },
  // Retries come from syncNow in the test, not from the timer.
  imap: { idleDelayMs: 300, pollIntervalMs: 600_000, batchSize: 10, afterIngest: "seen" },
  attachments: flakyAttachments,
  hub: {
    log: (level, message) => {
      if (level === "warn") warnings.push(message)
    }
  },
  untilIdle: false
})
const storedIds = () => storedProviderIds(mailbox.hub)
const flags = async () =>
  Object.fromEntries(
    [...(await mailbox.dovecot.flagsByMessageId("INBOX"))].map(([id, f]) => [id, f.includes("\\Seen")])
  )

describe("a mail whose ingest fails in the middle of a batch", () => {
  it("stops the batch there, keeps the mail before it processed (\\Seen), and stores the rest on retry", async () => {
    await eventually(async () =>
      warnings.some((w) => w.includes("sync of INBOX failed")) ? true : undefined
    )
    expect(await storedIds()).toEqual(["batch-a@customer.example"])
    // The mail before the failure is committed and behind the cursor: flagged although the
    // batch did not finish. The failed one and the one after it wait for the retry.
    expect(await flags()).toEqual({
      "batch-a@customer.example": true,
      "batch-b@customer.example": false,
      "batch-c@customer.example": false
    })

    failing = false
    mailbox.adapter.syncNow()
    const ids = await eventually(async () => {
      const got = await storedIds()
      return got.length === 3 ? got : undefined
    })
    expect(ids).toEqual(["batch-a@customer.example", "batch-b@customer.example", "batch-c@customer.example"])
    await eventually(async () => (Object.values(await flags()).every(Boolean) ? true : undefined))
  })
})
