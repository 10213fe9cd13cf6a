import { mkdtemp, readdir, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createHub, type DialogiHub, MemoryStore } from "@dialogi/core"
import { Effect } from "effect"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { createEmailAdapter, type EmailAdapter, fileAttachmentStore } from "../src/index.js"
import { everyEvent, mailWithAttachment, noCasino, plainSmtp } from "./emailTestKit.js"

let dir: string
let hub: DialogiHub
let adapter: EmailAdapter

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "dialogi-attachments-"))
  adapter = createEmailAdapter({
    address: "support@example.com",
    threadingSecret: "attachment-secret",
    smtp: plainSmtp(1),
    attachments: { store: fileAttachmentStore(dir) }
  })
  hub = await createHub({
    store: await Effect.runPromise(MemoryStore.makeMemoryStore()),
    adapters: [adapter],
    runWorkers: false,
    hooks: { ingest: [noCasino] }
  })
})

afterAll(async () => {
  await hub?.close()
  await rm(dir, { recursive: true, force: true })
})

const files = async () => (await readdir(dir).catch(() => [])).sort()
const bytes = (raw: string) => new TextEncoder().encode(raw)
let before: Array<string> = []
beforeEach(async () => {
  before = await files()
})

describe("attachment files no message refers to are removed", () => {
  it("a mail an ingest hook vetoes leaves no file (attachment and original html were written first)", async () => {
    const outcome = await adapter.ingestRaw(
      bytes(mailWithAttachment({ messageId: "veto-att@customer.example", body: "Casino bonus inside" })),
      "test"
    )
    expect(outcome).toEqual({ kind: "vetoed", hook: "no-casino", reason: "spam" })
    expect(await files()).toEqual(before)
  })

  it("a stored mail keeps its files; the same mail again (a duplicate) adds none", async () => {
    const raw = bytes(mailWithAttachment({ messageId: "kept-att@customer.example" }))
    const first = await adapter.ingestRaw(raw, "test")
    expect(first).toMatchObject({ kind: "stored", receipt: { duplicate: false } })
    const kept = await files()
    // The attachment and the original html.
    expect(kept).toHaveLength(before.length + 2)
    const again = await adapter.ingestRaw(raw, "test")
    expect(again).toMatchObject({ kind: "stored", receipt: { duplicate: true } })
    expect(await files()).toEqual(kept)
    // What stayed is the stored message's attachment and the original html kept beside it.
    const message = (await everyEvent(hub)).flatMap((e) =>
      e.body._tag === "message.received" && e.body.message.providerMessageId === "kept-att@customer.example"
        ? [e.body.message]
        : []
    )[0]!
    const attachmentRefs = message.parts.flatMap((p) => (p._tag === "attachment" ? [p.attachment.ref] : []))
    const added = kept.filter((f) => !before.includes(f)).map((f) => `file:${f}`)
    expect(attachmentRefs).toHaveLength(1)
    expect(added).toContain(attachmentRefs[0])
    const other = added.find((ref) => ref !== attachmentRefs[0])!
    expect(Buffer.from((await fileAttachmentStore(dir).get(other))!).toString()).toBe(
      "<p>Here is the invoice.</p>"
    )
  })

  it("a mail the hub refuses keeps only its quarantined raw copy, not the attachment files", async () => {
    const outcome = await adapter.ingestRaw(
      bytes(mailWithAttachment({ messageId: "refused-att@customer.example", from: "root@localhost" })),
      "test"
    )
    expect(outcome).toMatchObject({
      kind: "quarantined",
      reason: expect.stringMatching(/not an email address/)
    })
    const added = (await files()).filter((f) => !before.includes(f))
    const quarantined = (await adapter.quarantined()).at(-1)!
    expect(added).toEqual([quarantined.rawRef!.replace(/^file:/, "")])
  })
})
