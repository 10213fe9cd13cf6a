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
    threadingSecret: "restart-secret",
    imap: {
      ...imapAccount(dovecot),
      idleDelayMs: 300,
      pollIntervalMs: 1000,
      backoff: { initialMs: 100, maxMs: 500 }
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

/** Provider ids of every message the hub stored, one entry per stored message (all event pages). */
const storedProviderIds = async () => {
  const ids: Array<string> = []
  for (let cursor = 0; ; ) {
    const page = await hub.events.after(cursor, { limit: 5000 })
    if (page.length === 0) return ids
    for (const e of page)
      if (e.body._tag === "message.received") ids.push(e.body.message.providerMessageId ?? "(none)")
    cursor = page.at(-1)!.seq
  }
}

const total = 1000
const concurrency = 25
let delivered = 0

// Like an MTA, this one retries a delivery refused while Dovecot is down. A delivery Dovecot took
// but could not confirm before it stopped is retried too: the mailbox then holds that mail twice,
// under one Message-ID, exactly as it happens in production.
const deliverWithRetry = async (i: number) => {
  for (;;) {
    const ok = await dovecot
      .deliver(
        "support@example.com",
        customerMail({ messageId: `restart-${i}@customer.example`, from: `r${i % 23}@customer.example` })
      )
      .then(
        () => true,
        () => false
      )
    if (ok) {
      delivered += 1
      return
    }
    await new Promise((r) => setTimeout(r, 100))
  }
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
    await eventually(async () => ((await storedProviderIds()).length > 50 ? true : undefined))
    const healthBefore = health.length
    let storedAtRestart = 0
    await Promise.all([
      deliverRange(total / 2, total),
      (async () => {
        await eventually(async () => (delivered >= total / 2 + 100 ? true : undefined), 60_000)
        storedAtRestart = (await storedProviderIds()).length
        await dovecot.restart()
      })()
    ])
    const ids = await eventually(async () => {
      const got = await storedProviderIds()
      return got.length >= total ? got : undefined
    }, 90_000)
    // The restart really cut into the stream: mail was still arriving and unread at that moment.
    expect(storedAtRestart).toBeLessThan(total)
    // Let the catch-up poll run again: a cursor left behind would show up as late duplicates.
    adapter.syncNow()
    await new Promise((r) => setTimeout(r, 1500))
    const final = await storedProviderIds()
    expect(final).toHaveLength(total)
    expect(new Set(final).size).toBe(total)
    expect(new Set(ids)).toEqual(
      new Set(Array.from({ length: total }, (_, i) => `restart-${i}@customer.example`))
    )
    const after = health.slice(healthBefore).map((e) => e.kind)
    const reconnecting = after.indexOf("reconnecting")
    expect(reconnecting).toBeGreaterThanOrEqual(0)
    expect(after.indexOf("connected", reconnecting)).toBeGreaterThan(reconnecting)
    expect(await adapter.quarantined()).toEqual([])
    // About 20 s on an idle 2-core machine; the bound is for machines busy with other suites.
  }, 150_000)
})
