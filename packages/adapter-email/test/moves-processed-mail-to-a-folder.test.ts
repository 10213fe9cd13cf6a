import { describe, expect, it } from "vitest"
import { customerMail, eventually, storedProviderIds, watchedMailboxForFile } from "./emailTestKit.js"

const mailbox = watchedMailboxForFile({
  threadingSecret: "move-secret",
  imap: {
    idleDelayMs: 300,
    pollIntervalMs: 500,
    batchSize: 2,
    afterIngest: { moveTo: "Processed", seen: true }
  }
})
const storedIds = () => storedProviderIds(mailbox.hub)
const folder = (name: string) => mailbox.dovecot.flagsByMessageId(name)

describe("afterIngest: { moveTo }", () => {
  it("moves each mail to the folder (created on connect) once the hub stored it, flagged \\Seen", async () => {
    const first = ["move-1", "move-2", "move-3"].map((id) => `${id}@customer.example`)
    for (const id of first)
      await mailbox.dovecot.deliver("support@example.com", customerMail({ messageId: id }))
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
    for (const id of later)
      await mailbox.dovecot.deliver("support@example.com", customerMail({ messageId: id }))
    const ids = await eventually(async () => {
      const got = await storedIds()
      return got.length === 5 ? got : undefined
    }, 20_000)
    expect(new Set(ids).size).toBe(5)
    await eventually(async () => ((await folder("Processed")).size === 5 ? true : undefined), 20_000)
    expect((await folder("INBOX")).size).toBe(0)
    // A sync over the now empty INBOX finds nothing to store again.
    mailbox.adapter.syncNow()
    await new Promise((r) => setTimeout(r, 1000))
    expect(await storedIds()).toHaveLength(5)
  })

  it("a mail that cannot be parsed is quarantined (health event with its UID), moved as processed, and the next one stored", async () => {
    await mailbox.dovecot.deliver(
      "support@example.com",
      "To: support@example.com\r\nSubject: who sent this\r\nMessage-ID: <no-sender@somewhere.example>\r\n\r\nNo From header.\r\n"
    )
    await mailbox.dovecot.deliver(
      "support@example.com",
      customerMail({ messageId: "after-bad@customer.example" })
    )
    await eventually(async () =>
      (await storedIds()).includes("after-bad@customer.example") ? true : undefined
    )
    const event = mailbox.health.find((e) => e.kind === "quarantined")
    expect(event).toEqual({
      kind: "quarantined",
      mailbox: "INBOX",
      uid: 6,
      reason: "[dialogi/email] cannot parse mail: no From address"
    })
    expect((await mailbox.adapter.quarantined()).map((q) => q.source)).toEqual([
      expect.stringMatching(/^INBOX#\d+\/6$/)
    ])
    await eventually(async () =>
      (await folder("Processed")).has("no-sender@somewhere.example") ? true : undefined
    )
  })

  it("backfill re-reads the moved mail from its folder without storing it twice", async () => {
    const result = await mailbox.adapter.backfill({ mailbox: "Processed" })
    // The unparseable mail is quarantined again on a re-read (listed once); the others are stored.
    expect(result).toEqual({ seen: 7, stored: 0, quarantined: 1, vetoed: 0 })
    expect(await storedIds()).toHaveLength(6)
    expect(await mailbox.adapter.quarantined()).toHaveLength(1)
  })
})
