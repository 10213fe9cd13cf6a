import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { customerMail, eventually, storedProviderIds, watchedMailboxForFile } from "./emailTestKit.js"
import { anyMutation } from "./mimeMutations.js"

const warnings: Array<string> = []
const mailbox = watchedMailboxForFile({
  threadingSecret: "watcher-fuzz-secret",
  imap: { idleDelayMs: 300, pollIntervalMs: 1000, batchSize: 10 },
  hub: {
    log: (level, message) => {
      if (level === "warn" || level === "error") warnings.push(message)
    }
  },
  untilIdle: false
})
const storedIds = () => storedProviderIds(mailbox.hub)

describe("broken mail in the mailbox, read by the IMAP watcher", () => {
  const seed = Date.now() % 2_147_483_647
  it("each broken mail is stored or quarantined once, and every good mail behind it is stored", async () => {
    // A failure names the seed: fc.sample(anyMutation, { numRuns: 40, seed }) rebuilds the mails.
    const replay = `fast-check seed ${seed}`
    const cases = fc.sample(anyMutation, { numRuns: 40, seed })
    let inMailbox = 0
    for (const [i, broken] of cases.entries()) {
      // A mail Dovecot itself refuses never reaches the mailbox; the watcher cannot see it.
      const accepted = await mailbox.dovecot.deliver("support@example.com", Buffer.from(broken.raw)).then(
        () => true,
        () => false
      )
      if (accepted) inMailbox += 1
      await mailbox.dovecot.deliver(
        "support@example.com",
        customerMail({ messageId: `good-${i}@customer.example` })
      )
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
    const handled = () => mailbox.health.reduce((n, e) => n + (e.kind === "synced" ? e.stored : 0), 0)
    await eventually(async () => (handled() >= inMailbox ? true : undefined), 30_000)
    expect(handled(), replay).toBe(inMailbox)
    expect(new Set(ids).size, replay).toBe(ids.length)
    // Broken mail never failed a sync (which would stall the mailbox behind it until a retry).
    expect(
      warnings.filter((w) => w.includes("sync of")),
      replay
    ).toEqual([])
    for (const e of mailbox.health)
      if (e.kind === "quarantined") expect(e.reason, replay).toMatch(/^\[dialogi\/email\] \S/)
  }, 180_000)
})
