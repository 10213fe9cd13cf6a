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

  it("backfill re-reads the moved mail from its folder without storing it twice", async () => {
    const result = await adapter.backfill({ mailbox: "Processed" })
    expect(result).toEqual({ seen: 5, stored: 0, quarantined: 0, vetoed: 0 })
    expect(await storedIds()).toHaveLength(5)
  })
})
