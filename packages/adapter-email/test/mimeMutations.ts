import { readdirSync, readFileSync } from "node:fs"
import fc from "fast-check"

/*
 * Mutations of the real-shaped fixtures for fuzzing: each arbitrary yields a label (for the
 * failure report) and the raw bytes of a broken mail.
 */

/** Every real-shaped fixture, so a mail added to the corpus is fuzzed too. */
export const fixtures = readdirSync(new URL("./fixtures/", import.meta.url), {
  recursive: true,
  encoding: "utf8"
})
  .filter((name) => name.endsWith(".eml"))
  .sort()
  .map((name) => ({
    name,
    text: readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "latin1")
  }))
export const bytes = (latin1: string) => new Uint8Array(Buffer.from(latin1, "latin1"))
const multipartFixtures = fixtures.filter((f) => /content-type:\s*multipart\//i.test(f.text))

// Each mutation takes a fixture's text (latin1, one char per byte) and returns bytes.

// Mostly a fresh Message-ID, so the mutated mail is stored as a new message instead of being
// answered as a duplicate of the fixture stored in an earlier case.
const withFreshId = (f: { name: string; text: string }, id: string | null) =>
  id === null
    ? f
    : { name: f.name, text: f.text.replace(/^Message-ID:.*$/im, `Message-ID: <fuzz-${id}@customer.example>`) }
const fixture = fc
  .tuple(fc.constantFrom(...fixtures), fc.option(fc.uuid(), { freq: 5 }))
  .map(([f, id]) => withFreshId(f, id))

/** @see anyMutation */
export const byteFlips = fc
  .record({
    f: fixture,
    flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 40 })
  })
  .map(({ f, flips }) => {
    const out = bytes(f.text)
    for (const [at, value] of flips) out[at % out.length] = value
    return { label: `${f.name} with ${flips.length} byte(s) flipped`, raw: out }
  })

/** @see anyMutation */
export const truncated = fc
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
/** @see anyMutation */
export const badCharset = fc
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

/** @see anyMutation */
export const truncatedMultipart = fc
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

/** @see anyMutation */
export const hugeHeaders = fc
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

/** @see anyMutation */
export const nestedRfc822 = fc
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

/** Any one of the mutations above. */
export const anyMutation = fc.oneof(
  byteFlips,
  truncated,
  badCharset,
  truncatedMultipart,
  hugeHeaders,
  nestedRfc822
)
