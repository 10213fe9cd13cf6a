import { readdirSync, readFileSync } from "node:fs"
import { createHub, type DialogiHub, MemoryStore, Message } from "@dialogi/core"
import { Effect, Schema } from "effect"
import fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createEmailAdapter, type EmailAdapter, memoryAttachmentStore } from "../src/index.js"
import { customerMail, plainSmtp } from "./emailTestKit.js"

/** Every real-shaped fixture, so a mail added to the corpus is fuzzed too. */
const fixtures = readdirSync(new URL("./fixtures/", import.meta.url), { recursive: true, encoding: "utf8" })
  .filter((name) => name.endsWith(".eml"))
  .sort()
  .map((name) => ({
    name,
    text: readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "latin1")
  }))
const bytes = (latin1: string) => new Uint8Array(Buffer.from(latin1, "latin1"))
const multipartFixtures = fixtures.filter((f) => /content-type:\s*multipart\//i.test(f.text))

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

// ---- mutations: each takes a fixture's text (latin1, one char per byte) and returns bytes ----

// Mostly a fresh Message-ID, so the mutated mail is stored as a new message instead of being
// answered as a duplicate of the fixture stored in an earlier case.
const withFreshId = (f: { name: string; text: string }, id: string | null) =>
  id === null
    ? f
    : { name: f.name, text: f.text.replace(/^Message-ID:.*$/im, `Message-ID: <fuzz-${id}@customer.example>`) }
const fixture = fc
  .tuple(fc.constantFrom(...fixtures), fc.option(fc.uuid(), { freq: 5 }))
  .map(([f, id]) => withFreshId(f, id))

const byteFlips = fc
  .record({
    f: fixture,
    flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 40 })
  })
  .map(({ f, flips }) => {
    const out = bytes(f.text)
    for (const [at, value] of flips) out[at % out.length] = value
    return { label: `${f.name} with ${flips.length} byte(s) flipped`, raw: out }
  })

const truncated = fc
  .record({ f: fixture, cut: fc.double({ min: 0, max: 1, noNaN: true }) })
  .map(({ f, cut }) => {
    const at = Math.floor(f.text.length * cut)
    return { label: `${f.name} cut at byte ${at}`, raw: bytes(f.text.slice(0, at)) }
  })

const charsets = fc.oneof(
  fc.constantFrom(
    "x-no-such-charset",
    "utf-7",
    "UTF-16",
    "utf-32le",
    "iso-2022-jp",
    "shift_jis",
    "binary",
    '""',
    "",
    "utf-8'en'",
    "=?utf-8?q?x?=",
    "unicode-1-1-utf-7",
    "windows-9999"
  ),
  fc.string({ maxLength: 20 })
)
const badCharset = fc
  .record({
    f: fixture,
    charset: charsets,
    // Bytes that are invalid in most multi-byte charsets, put into the body.
    junk: fc.uint8Array({ minLength: 0, maxLength: 64 })
  })
  .map(({ f, charset, junk }) => {
    let text = f.text.replace(/charset=("?)[^";\r\n]*\1/gi, `charset=${charset}`)
    // Encoded words with the same charset in the visible headers.
    text = text.replace(/^Subject: /im, `Subject: =?${charset}?B?${Buffer.from(junk).toString("base64")}?= `)
    const split = text.search(/\r?\n\r?\n/)
    const body = split < 0 ? text.length : split + 2
    text = text.slice(0, body) + Buffer.from(junk).toString("latin1") + text.slice(body)
    return { label: `${f.name} with charset ${JSON.stringify(charset)}`, raw: bytes(text) }
  })

const truncatedMultipart = fc
  .record({
    f: fc
      .tuple(fc.constantFrom(...multipartFixtures), fc.option(fc.uuid(), { freq: 5 }))
      .map(([f, id]) => withFreshId(f, id)),
    cut: fc.double({ min: 0.3, max: 1, noNaN: true }),
    dropClosers: fc.boolean(),
    breakBoundary: fc.boolean()
  })
  .map(({ f, cut, dropClosers, breakBoundary }) => {
    let text = f.text
    // A closing boundary ("--b--") missing, as when a relay cut the mail short.
    if (dropClosers) text = text.replace(/^--[^\r\n]+--\s*$/gm, "")
    // A boundary parameter that no delimiter line matches.
    if (breakBoundary) text = text.replace(/boundary="?([^";\r\n]+)"?/i, 'boundary="$1-mismatch"')
    text = text.slice(0, Math.max(1, Math.floor(text.length * cut)))
    return { label: `${f.name} multipart cut (${dropClosers}, ${breakBoundary})`, raw: bytes(text) }
  })

const hugeHeaders = fc
  .record({
    f: fixture,
    kind: fc.constantFrom(
      "long-subject",
      "many-headers",
      "long-references",
      "unfolded-line",
      "encoded-words"
    ),
    size: fc.integer({ min: 1, max: 400 })
  })
  .map(({ f, kind, size }) => {
    const kb = size * 1024
    const header =
      kind === "long-subject"
        ? `Subject: ${"S".repeat(kb)}`
        : kind === "many-headers"
          ? Array.from({ length: size * 25 }, (_, i) => `X-Filler-${i}: ${"v".repeat(30)}`).join("\r\n")
          : kind === "long-references"
            ? `References: ${Array.from({ length: size * 25 }, (_, i) => `<ref-${i}@list.example>`).join("\r\n ")}`
            : kind === "unfolded-line"
              ? `X-Long: ${"a".repeat(kb)}`
              : `Subject: ${Array.from({ length: size * 20 }, () => "=?utf-8?B?w6TDtsO8?=").join(" ")}`
    return { label: `${f.name} + ${kind} (${size})`, raw: bytes(`${header}\r\n${f.text}`) }
  })

const nestedRfc822 = fc
  .record({
    f: fixture,
    depth: fc.integer({ min: 1, max: 40 }),
    outerFrom: fc.boolean(),
    closeParts: fc.boolean()
  })
  .map(({ f, depth, outerFrom, closeParts }) => {
    let text = f.text
    for (let level = 0; level < depth; level++) {
      const boundary = `nest-${level}`
      text = [
        ...(outerFrom ? [`From: forwarder${level}@relay.example`] : []),
        "To: support@example.com",
        `Subject: Fwd: level ${level}`,
        `Message-ID: <nest-${level}-${f.name}@relay.example>`,
        "MIME-Version: 1.0",
        `Content-Type: multipart/mixed; boundary="${boundary}"`,
        "",
        `--${boundary}`,
        "Content-Type: text/plain; charset=utf-8",
        "",
        "See the forwarded mail.",
        `--${boundary}`,
        "Content-Type: message/rfc822",
        "",
        text,
        ...(closeParts ? [`--${boundary}--`] : [])
      ].join("\r\n")
    }
    return { label: `${f.name} nested ${depth} deep`, raw: bytes(text) }
  })

const anyMutation = fc.oneof(byteFlips, truncated, badCharset, truncatedMultipart, hugeHeaders, nestedRfc822)

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
    expect(list).toHaveLength(Math.min(quarantinedBefore + 1, 1000))
    expect(list.at(-1)?.reason).toBe(outcome.reason)
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
