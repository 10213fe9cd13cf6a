import { createHub, type DialogiHub, MemoryStore } from "@dialogi/core"
import { Effect } from "effect"
import fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  createEmailAdapter,
  type EmailAdapter,
  type HealthEvent,
  memoryAttachmentStore,
  memoryKeyValueStore
} from "../src/index.js"
import { customerMail, eventually, imapAccount, plainSmtp, startDovecot } from "./emailTestKit.js"
import { anyMutation } from "./mimeMutations.js"

let dovecot: Awaited<ReturnType<typeof startDovecot>>
let hub: DialogiHub
let adapter: EmailAdapter
const health: Array<HealthEvent> = []
const warnings: Array<string> = []

beforeAll(async () => {
  dovecot = await startDovecot()
  adapter = createEmailAdapter({
    address: "support@example.com",
    threadingSecret: "watcher-fuzz-secret",
    imap: { ...imapAccount(dovecot), idleDelayMs: 300, pollIntervalMs: 1000, batchSize: 10 },
    smtp: plainSmtp(1),
    state: memoryKeyValueStore(),
    attachments: { store: memoryAttachmentStore() },
    onHealth: (e) => health.push(e)
  })
  hub = await createHub({
    store: await Effect.runPromise(MemoryStore.makeMemoryStore()),
    adapters: [adapter],
    runWorkers: false,
    log: (level, message) => {
      if (level === "warn" || level === "error") warnings.push(message)
    }
  })
})

afterAll(async () => {
  await hub?.close()
  await dovecot?.stop()
})

const storedIds = async () => {
  const ids: Array<string> = []
  for (let cursor = 0; ; ) {
    const page = await hub.events.after(cursor, { limit: 5000 })
    if (page.length === 0) return ids
    for (const e of page)
      if (e.body._tag === "message.received") ids.push(e.body.message.providerMessageId ?? "(none)")
    cursor = page.at(-1)!.seq
  }
}

describe("broken mail in the mailbox, read by the IMAP watcher", () => {
  const seed = Date.now() % 2_147_483_647
  it("each broken mail is stored or quarantined once, and every good mail behind it is stored", async () => {
    // A failure names the seed: fc.sample(anyMutation, { numRuns: 40, seed }) rebuilds the mails.
    const replay = `fast-check seed ${seed}`
    const cases = fc.sample(anyMutation, { numRuns: 40, seed })
    let inMailbox = 0
    for (const [i, broken] of cases.entries()) {
      // A mail Dovecot itself refuses never reaches the mailbox; the watcher cannot see it.
      const accepted = await dovecot.deliver("support@example.com", Buffer.from(broken.raw)).then(
        () => true,
        () => false
      )
      if (accepted) inMailbox += 1
      await dovecot.deliver("support@example.com", customerMail({ messageId: `good-${i}@customer.example` }))
      inMailbox += 1
    }
    const good = cases.map((_, i) => `good-${i}@customer.example`)
    const ids = await eventually(async () => {
      const got = await storedIds()
      return good.every((id) => got.includes(id)) ? got : undefined
    }, 60_000).catch((e: unknown) => {
      throw new Error(`${String(e)} (${replay})`)
    })
    // Every mail in the mailbox was handled exactly once: none skipped, none re-read.
    const handled = () => health.reduce((n, e) => n + (e.kind === "synced" ? e.stored : 0), 0)
    await eventually(async () => (handled() >= inMailbox ? true : undefined), 30_000)
    expect(handled(), replay).toBe(inMailbox)
    expect(new Set(ids).size, replay).toBe(ids.length)
    // Broken mail never failed a sync (which would stall the mailbox behind it until a retry).
    expect(
      warnings.filter((w) => w.includes("sync of")),
      replay
    ).toEqual([])
    for (const e of health)
      if (e.kind === "quarantined") expect(e.reason, replay).toMatch(/^\[dialogi\/email\] \S/)
  }, 180_000)
})
