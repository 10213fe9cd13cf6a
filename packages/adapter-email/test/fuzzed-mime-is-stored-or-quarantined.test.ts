import { createHash } from "node:crypto"
import { createHub, type DialogiHub, MemoryStore, Message } from "@dialogi/core"
import { Effect, Schema } from "effect"
import fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createEmailAdapter, type EmailAdapter, memoryAttachmentStore } from "../src/index.js"
import { customerMail, plainSmtp } from "./emailTestKit.js"
import {
  anyMutation,
  badCharset,
  byteFlips,
  bytes,
  hugeHeaders,
  nestedRfc822,
  truncated,
  truncatedMultipart
} from "./mimeMutations.js"

const maxMessageBytes = 1024 * 1024
let hub: DialogiHub
let adapter: EmailAdapter

beforeAll(async () => {
  adapter = createEmailAdapter({
    address: "support@example.com",
    threadingSecret: "fuzz-secret",
    smtp: plainSmtp(1),
    attachments: { store: memoryAttachmentStore(), maxBytes: 64 * 1024 },
    maxMessageBytes
  })
  hub = await createHub({
    store: await Effect.runPromise(MemoryStore.makeMemoryStore()),
    adapters: [adapter],
    runWorkers: false
  })
})

afterAll(async () => {
  await hub?.close()
})

// ---- the property ----

/** Fails the case (not the whole run's timeout) if one mail takes longer than this. */
const perCaseMs = 15_000
const within = <A>(label: string, work: Promise<A>) =>
  new Promise<A>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`hang: ${label} took over ${perCaseMs} ms`)), perCaseMs)
    work.then(
      (a) => {
        clearTimeout(timer)
        resolve(a)
      },
      (e: unknown) => {
        clearTimeout(timer)
        reject(e)
      }
    )
  })

const entities: Record<string, string> = { amp: "&", quot: '"', lt: "<", gt: ">", "#39": "'" }
const decodeEntities = (value: string) =>
  value.replace(/&(amp|quot|lt|gt|#39);/g, (_, e: string) => entities[e]!)
/**
 * What in sanitized html could run script or load something the inbox did not choose: a
 * dangerous element, an event handler, or a link whose scheme (as a browser resolves it) is not
 * one the sanitizer allows. A mangled `href="3D&quot;javascript:..."` is a harmless relative link.
 */
const unsafeHtml = (html: string): Array<string> => {
  const found: Array<string> = []
  for (const [, tag = "", attributes = ""] of html.matchAll(/<([a-zA-Z][\w-]*)([^>]*)>/g)) {
    if (/^(script|iframe|object|embed|style|form|base|meta|link)$/i.test(tag)) found.push(`<${tag}>`)
    for (const [, name = "", value = ""] of attributes.matchAll(/([^\s=/]+)(?:="([^"]*)")?/g)) {
      if (/^on/i.test(name)) found.push(`${tag} ${name}`)
      if (!/^(href|src)$/i.test(name)) continue
      const scheme = new URL(decodeEntities(value), "https://relative.invalid/").protocol
      const allowed =
        tag === "img" ? ["http:", "https:", "cid:", "data:"] : ["http:", "https:", "mailto:", "tel:"]
      if (!allowed.includes(scheme)) found.push(`${tag} ${name}=${value}`)
    }
  }
  return found
}

let cursor = 0
/** Messages the hub stored since the last call. */
const newlyStored = async (): Promise<Array<Message>> => {
  const out: Array<Message> = []
  for (;;) {
    const page = await hub.events.after(cursor, { limit: 5000 })
    if (page.length === 0) return out
    for (const e of page) if (e.body._tag === "message.received") out.push(e.body.message)
    cursor = page.at(-1)!.seq
  }
}
const isWellFormed = Schema.is(Message)
let goodMails = 0

const checkCase = async ({ label, raw }: { label: string; raw: Uint8Array }) => {
  const quarantinedBefore = (await adapter.quarantined()).length
  const outcome = await within(label, adapter.ingestRaw(raw, `fuzz: ${label}`))
  const stored = await newlyStored()
  if (outcome.kind === "quarantined") {
    expect(outcome.reason).toMatch(/^\[dialogi\/email\] \S/)
    const list = await adapter.quarantined()
    // Listed once with its reason, also when an earlier case produced the very same bytes.
    const sha256 = createHash("sha256").update(raw).digest("hex")
    expect(list.filter((q) => q.sha256 === sha256).map((q) => q.reason)).toEqual([outcome.reason])
    expect(list.length).toBeLessThanOrEqual(Math.min(quarantinedBefore + 1, 1000))
    expect(stored).toEqual([])
  } else if (outcome.kind === "stored") {
    // A duplicate (a mutation that kept a fixture's Message-ID) returns the earlier message.
    expect(stored).toHaveLength(outcome.receipt.duplicate ? 0 : 1)
    for (const message of stored) {
      expect(isWellFormed(message)).toBe(true)
      expect(message.providerMessageId).toBeTruthy()
      expect(message.parts.length).toBeGreaterThan(0)
      for (const part of message.parts) if (part._tag === "html") expect(unsafeHtml(part.html)).toEqual([])
    }
  } else {
    // A bounce applies to our own sent mail; there is none in this hub, so none may apply.
    expect(outcome.kind).not.toBe("bounce")
    expect(outcome.kind).not.toBe("vetoed")
  }
  // The mail behind a broken one is stored as usual.
  goodMails += 1
  const next = await within(
    "good mail",
    adapter.ingestRaw(
      bytes(customerMail({ messageId: `good-${goodMails}@customer.example`, from: "dora@customer.example" })),
      "good"
    )
  )
  expect(next).toMatchObject({ kind: "stored", receipt: { duplicate: false } })
  expect((await newlyStored()).map((m) => m.providerMessageId)).toEqual([
    `good-${goodMails}@customer.example`
  ])
}

describe("fuzzed MIME through the adapter's parse and ingest path (what the IMAP watcher calls)", () => {
  const runs = (numRuns: number) => ({ numRuns, endOnFailure: true })

  it("random byte flips and truncations: stored or quarantined with a reason, never a throw", async () => {
    await fc.assert(fc.asyncProperty(fc.oneof(byteFlips, truncated), checkCase), runs(60))
  }, 300_000)

  it("bad and unknown charsets in headers and body", async () => {
    await fc.assert(fc.asyncProperty(badCharset, checkCase), runs(40))
  }, 300_000)

  it("truncated multipart and mismatched boundaries", async () => {
    await fc.assert(fc.asyncProperty(truncatedMultipart, checkCase), runs(40))
  }, 300_000)

  it("huge headers: long lines, thousands of fields or references, masses of encoded words", async () => {
    await fc.assert(fc.asyncProperty(hugeHeaders, checkCase), runs(25))
  }, 300_000)

  it("message/rfc822 nested up to 40 deep", async () => {
    await fc.assert(fc.asyncProperty(nestedRfc822, checkCase), runs(25))
  }, 300_000)

  it("mutations stacked on each other", async () => {
    const stacked = fc
      .record({
        first: anyMutation,
        flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 20 }),
        keep: fc.double({ min: 0.5, max: 1, noNaN: true })
      })
      .map(({ first, flips, keep }) => {
        const raw = first.raw.slice(0, Math.max(1, Math.floor(first.raw.length * keep)))
        for (const [at, value] of flips) raw[at % raw.length] = value
        return { label: `${first.label}, then ${flips.length} flip(s) and cut to ${raw.length}`, raw }
      })
    await fc.assert(fc.asyncProperty(stacked, checkCase), runs(30))
  }, 300_000)

  it("mail over the size limit is quarantined with the size in the reason", async () => {
    const outcome = await adapter.ingestRaw(new Uint8Array(maxMessageBytes + 1).fill(65), "oversize")
    expect(outcome).toEqual({
      kind: "quarantined",
      reason: `[dialogi/email] cannot parse mail: mail of ${maxMessageBytes + 1} bytes exceeds ${maxMessageBytes}`
    })
  })
})
