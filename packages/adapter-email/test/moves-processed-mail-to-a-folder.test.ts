import { createHub, type DialogiHub, MemoryStore } from "@dialogi/core"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
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
  plainSmtp,
  startDovecot,
  startSmtpRecorder
} from "./emailTestKit.js"

let dovecot: Awaited<ReturnType<typeof startDovecot>>
let smtp: Awaited<ReturnType<typeof startSmtpRecorder>>
let hub: DialogiHub
let adapter: EmailAdapter
const health: Array<HealthEvent> = []

beforeAll(async () => {
  dovecot = await startDovecot()
  smtp = await startSmtpRecorder()
  adapter = createEmailAdapter({
    address: "support@example.com",
    threadingSecret: "move-secret",
    imap: {
      ...imapAccount(dovecot),
      idleDelayMs: 300,
      pollIntervalMs: 500,
      batchSize: 2,
      afterIngest: { moveTo: "Processed", seen: true }
    },
    smtp: plainSmtp(smtp.port),
    state: memoryKeyValueStore(),
    attachments: { store: memoryAttachmentStore() },
    onHealth: (e) => health.push(e)
  })
  hub = await createHub({
    store: await Effect.runPromise(MemoryStore.makeMemoryStore()),
    adapters: [adapter],
    runWorkers: false
  })
  await eventually(async () => health.find((e) => e.kind === "idle"))
})

afterAll(async () => {
  await hub?.close()
  await smtp?.close()
  await dovecot?.stop()
})

const storedIds = async () =>
  (await hub.events.after(0, { limit: 5000 })).flatMap((e) =>
    e.body._tag === "message.received" ? [e.body.message.providerMessageId] : []
  )

/** Message-ID -> IMAP flags of every mail in a folder, as Dovecot reports them. */
const folder = async (name: string) => {
  const { stdout } = await dovecot.doveadm(
    "-f",
    "tab",
    "fetch",
    "-u",
    "support@example.com",
    "hdr.message-id flags",
    "mailbox",
    name
  )
  return new Map(
    stdout
      .trim()
      .split("\n")
      .slice(1)
      .filter((row) => row.length > 0)
      .map((row) => row.split("\t") as [string, string])
      .map(([id, flags]) => [id.trim().slice(1, -1), flags])
  )
}

describe("afterIngest: { moveTo }", () => {
  it("moves each mail to the folder (created on connect) once the hub stored it, flagged \\Seen", async () => {
    const first = ["move-1", "move-2", "move-3"].map((id) => `${id}@customer.example`)
    for (const id of first) await dovecot.deliver("support@example.com", customerMail({ messageId: id }))
    await eventually(async () => ((await storedIds()).length === 3 ? true : undefined), 20_000)
    // Moving happens right after the batch committed; the last batch may still be on its way.
    const moved = await eventually(async () => {
      const inFolder = await folder("Processed")
      return inFolder.size === 3 ? inFolder : undefined
    }, 20_000)
    expect([...moved.keys()].sort()).toEqual(first)
    for (const flags of moved.values()) expect(flags).toContain("\\Seen")
    expect((await folder("INBOX")).size).toBe(0)
  })

  it("mail arriving after the moves is read from the cursor: each stored once, and moved too", async () => {
    const later = ["move-4", "move-5"].map((id) => `${id}@customer.example`)
    for (const id of later) await dovecot.deliver("support@example.com", customerMail({ messageId: id }))
    const ids = await eventually(async () => {
      const got = await storedIds()
      return got.length === 5 ? got : undefined
    }, 20_000)
    expect(new Set(ids).size).toBe(5)
    await eventually(async () => ((await folder("Processed")).size === 5 ? true : undefined), 20_000)
    expect((await folder("INBOX")).size).toBe(0)
    // A sync over the now empty INBOX finds nothing to store again.
    adapter.syncNow()
    await new Promise((r) => setTimeout(r, 1000))
    expect(await storedIds()).toHaveLength(5)
  })

  it("a mail that cannot be parsed is quarantined (health event with its UID), moved as processed, and the next one stored", async () => {
    await dovecot.deliver(
      "support@example.com",
      "To: support@example.com\r\nSubject: who sent this\r\nMessage-ID: <no-sender@somewhere.example>\r\n\r\nNo From header.\r\n"
    )
    await dovecot.deliver("support@example.com", customerMail({ messageId: "after-bad@customer.example" }))
    await eventually(async () =>
      (await storedIds()).includes("after-bad@customer.example") ? true : undefined
    )
    const event = health.find((e) => e.kind === "quarantined")
    expect(event).toEqual({
      kind: "quarantined",
      mailbox: "INBOX",
      uid: 6,
      reason: "[dialogi/email] cannot parse mail: no From address"
    })
    expect((await adapter.quarantined()).map((q) => q.source)).toEqual([
      expect.stringMatching(/^INBOX#\d+\/6$/)
    ])
    await eventually(async () =>
      (await folder("Processed")).has("no-sender@somewhere.example") ? true : undefined
    )
  })

  it("backfill re-reads the moved mail from its folder without storing it twice", async () => {
    const result = await adapter.backfill({ mailbox: "Processed" })
    // The unparseable mail is quarantined again on a re-read (listed once); the others are stored.
    expect(result).toEqual({ seen: 7, stored: 0, quarantined: 1, vetoed: 0 })
    expect(await storedIds()).toHaveLength(6)
    expect(await adapter.quarantined()).toHaveLength(1)
  })
})
