import { describe, expect, it } from "vitest"
import { customerMail, eventually, storedProviderIds, watchedMailboxForFile } from "./emailTestKit.js"

const mailbox = watchedMailboxForFile({
  threadingSecret: "restart-secret",
  imap: { idleDelayMs: 300, pollIntervalMs: 1000, backoff: { initialMs: 100, maxMs: 500 } }
})

const total = 1000
const concurrency = 25
let delivered = 0

// A retried delivery Dovecot took but could not confirm leaves that mail twice in the mailbox.
const deliverWithRetry = async (i: number) => {
  await mailbox.dovecot.deliverRetrying(
    "support@example.com",
    customerMail({ messageId: `restart-${i}@customer.example`, from: `r${i % 23}@customer.example` })
  )
  delivered += 1
}

/** Delivers mails [from, to) with `concurrency` LMTP sessions at a time. */
const deliverRange = async (from: number, to: number) => {
  let next = from
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < to) await deliverWithRetry(next++)
    })
  )
}

describe("a Dovecot restart in the middle of a 1,000-mail burst", () => {
  it("stores all 1,000 mails exactly once and reports reconnecting, then connected", async () => {
    await deliverRange(0, total / 2)
    // The watcher is busy reading the backlog when the server goes away.
    await eventually(async () => ((await storedProviderIds(mailbox.hub)).length > 50 ? true : undefined))
    const healthBefore = mailbox.health.length
    let storedAtRestart = 0
    await Promise.all([
      deliverRange(total / 2, total),
      (async () => {
        await eventually(async () => (delivered >= total / 2 + 100 ? true : undefined), 60_000)
        storedAtRestart = (await storedProviderIds(mailbox.hub)).length
        await mailbox.dovecot.restart()
      })()
    ])
    const ids = await eventually(async () => {
      const got = await storedProviderIds(mailbox.hub)
      return got.length >= total ? got : undefined
    }, 90_000)
    // The restart really cut into the stream: mail was still arriving and unread at that moment.
    expect(storedAtRestart).toBeLessThan(total)
    // Let the catch-up poll run again: a cursor left behind would show up as late duplicates.
    mailbox.adapter.syncNow()
    await new Promise((r) => setTimeout(r, 1500))
    const final = await storedProviderIds(mailbox.hub)
    expect(final).toHaveLength(total)
    expect(new Set(final).size).toBe(total)
    expect(new Set(ids)).toEqual(
      new Set(Array.from({ length: total }, (_, i) => `restart-${i}@customer.example`))
    )
    const after = mailbox.health.slice(healthBefore).map((e) => e.kind)
    const reconnecting = after.indexOf("reconnecting")
    expect(reconnecting).toBeGreaterThanOrEqual(0)
    expect(after.indexOf("connected", reconnecting)).toBeGreaterThan(reconnecting)
    expect(await mailbox.adapter.quarantined()).toEqual([])
    // About 20 s on an idle 2-core machine; the bound is for machines busy with other suites.
  }, 150_000)
})
