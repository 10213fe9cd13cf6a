import { createHub, type DialogiHub, MemoryStore } from "@dialogi/core"
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
  startDovecot
} from "./emailTestKit.js"

let dovecot: Awaited<ReturnType<typeof startDovecot>>
let hub: DialogiHub
let adapter: EmailAdapter
const health: Array<HealthEvent> = []
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

beforeAll(async () => {
  dovecot = await startDovecot()
  // All three are in the mailbox before the watcher connects: one batch, in UID order.
  await dovecot.deliver("support@example.com", customerMail({ messageId: "batch-a@customer.example" }))
  await dovecot.deliver("support@example.com", mailWithAttachment({ messageId: "batch-b@customer.example" }))
  await dovecot.deliver("support@example.com", customerMail({ messageId: "batch-c@customer.example" }))
  adapter = createEmailAdapter({
    address: "support@example.com",
    threadingSecret: "retry-secret",
    imap: {
      ...imapAccount(dovecot),
      idleDelayMs: 300,
      // Retries come from syncNow in the test, not from the timer.
      pollIntervalMs: 600_000,
      batchSize: 10,
      afterIngest: "seen"
    },
    smtp: plainSmtp(1),
    state: memoryKeyValueStore(),
    attachments: { store: flakyAttachments },
    onHealth: (e) => health.push(e)
  })
  hub = await createHub({
    store: await Effect.runPromise(MemoryStore.makeMemoryStore()),
    adapters: [adapter],
    runWorkers: false,
    log: (level, message) => {
      if (level === "warn") warnings.push(message)
    }
  })
})

afterAll(async () => {
  await hub?.close()
  await dovecot?.stop()
})

const storedIds = async () =>
  (await hub.events.after(0)).flatMap((e) =>
    e.body._tag === "message.received" ? [e.body.message.providerMessageId] : []
  )

const flags = async () => {
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
  return Object.fromEntries(
    stdout
      .trim()
      .split("\n")
      .slice(1)
      .map((row) => row.split("\t") as [string, string?])
      .map(([id, f]) => [id.trim().slice(1, -1), (f ?? "").includes("\\Seen")])
  )
}

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
    adapter.syncNow()
    const ids = await eventually(async () => {
      const got = await storedIds()
      return got.length === 3 ? got : undefined
    })
    expect(ids).toEqual(["batch-a@customer.example", "batch-b@customer.example", "batch-c@customer.example"])
    await eventually(async () => (Object.values(await flags()).every(Boolean) ? true : undefined))
  })
})
