import { describe, expect, it } from "vitest"
import { customerMail, eventually, storedProviderIds, watchedMailboxForFile } from "./emailTestKit.js"

const mailbox = watchedMailboxForFile({
  threadingSecret: "drop-secret",
  imap: { idleDelayMs: 300, pollIntervalMs: 1000, backoff: { initialMs: 100, maxMs: 500 } }
})
const receivedIds = () => storedProviderIds(mailbox.hub)

const deliverWithRetry = (i: number) =>
  mailbox.dovecot.deliverRetrying(
    "support@example.com",
    customerMail({ messageId: `burst-${i}@customer.example`, from: `b${i % 17}@customer.example` })
  )

describe("IMAP connection trouble", () => {
  it("killing the IMAP session in the middle of a burst loses and doubles nothing", async () => {
    const total = 400
    for (let i = 0; i < total / 2; i++) await deliverWithRetry(i)
    await eventually(async () => ((await receivedIds()).length > 20 ? true : undefined))
    const reconnectsBefore = mailbox.health.filter((e) => e.kind === "reconnecting").length
    expect(await mailbox.dovecot.dropImapSessions()).toBeGreaterThan(0)
    for (let i = total / 2; i < total; i++) await deliverWithRetry(i)
    const ids = await eventually(async () => {
      const got = await receivedIds()
      return got.length >= total ? got : undefined
    }, 60_000)
    expect(ids).toHaveLength(total)
    expect(new Set(ids).size).toBe(total)
    expect(mailbox.health.filter((e) => e.kind === "reconnecting").length).toBeGreaterThan(reconnectsBefore)
  })

  it("a UIDVALIDITY change re-reads the mailbox without duplicates", async () => {
    const before = (await receivedIds()).length
    await mailbox.dovecot.doveadm(
      "mailbox",
      "update",
      "--uid-validity",
      "4242",
      "-u",
      "support@example.com",
      "INBOX"
    )
    // The change is not pushed into an open IDLE session; it is seen on the next connect.
    await mailbox.dovecot.restart()
    await eventually(
      async () => mailbox.health.find((e) => e.kind === "uidvalidity_changed" && e.to === "4242"),
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
