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
    threadingSecret: "drop-secret",
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

const receivedIds = async () =>
  (await hub.events.after(0)).flatMap((e) =>
    e.body._tag === "message.received" ? [e.body.message.providerMessageId] : []
  )

// An MTA retries a delivery the server refused while it was down; so does this one.
const deliverWithRetry = async (i: number) => {
  for (;;) {
    const ok = await dovecot
      .deliver(
        "support@example.com",
        customerMail({ messageId: `burst-${i}@customer.example`, from: `b${i % 17}@customer.example` })
      )
      .then(
        () => true,
        () => false
      )
    if (ok) return
    await new Promise((r) => setTimeout(r, 100))
  }
}

describe("IMAP connection trouble", () => {
  it("killing the IMAP session in the middle of a burst loses and doubles nothing", async () => {
    const total = 400
    for (let i = 0; i < total / 2; i++) await deliverWithRetry(i)
    await eventually(async () => ((await receivedIds()).length > 20 ? true : undefined))
    const reconnectsBefore = health.filter((e) => e.kind === "reconnecting").length
    expect(await dovecot.dropImapSessions()).toBeGreaterThan(0)
    for (let i = total / 2; i < total; i++) await deliverWithRetry(i)
    const ids = await eventually(async () => {
      const got = await receivedIds()
      return got.length >= total ? got : undefined
    }, 60_000)
    expect(ids).toHaveLength(total)
    expect(new Set(ids).size).toBe(total)
    expect(health.filter((e) => e.kind === "reconnecting").length).toBeGreaterThan(reconnectsBefore)
  })

  it("a UIDVALIDITY change re-reads the mailbox without duplicates", async () => {
    const before = (await receivedIds()).length
    await dovecot.doveadm("mailbox", "update", "--uid-validity", "4242", "-u", "support@example.com", "INBOX")
    // The change is not pushed into an open IDLE session; it is seen on the next connect.
    await dovecot.restart()
    await eventually(
      async () => health.find((e) => e.kind === "uidvalidity_changed" && e.to === "4242"),
      15_000
    )
    await deliverWithRetry(9999)
    const ids = await eventually(async () => {
      const got = await receivedIds()
      return got.includes("burst-9999@customer.example") ? got : undefined
    }, 15_000)
    expect(ids).toHaveLength(before + 1)
    expect(new Set(ids).size).toBe(ids.length)
  })
})
