import fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { WebSocket } from "ws"
import { parseClientFrame } from "../src/parse.js"
import { type ChatRig, clientId, greet, startRig, type TestClient } from "./chatHarness.js"
import fixtures from "./fixtures/client-frames.json" with { type: "json" }

const validFrames = fixtures.valid as ReadonlyArray<Record<string, unknown>>

/** Frames a broken or hostile client might send: random text, random JSON, near-misses. */
const randomFrame: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: "binary", maxLength: 200 }),
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  // A valid frame cut short.
  fc
    .tuple(fc.constantFrom(...validFrames), fc.nat())
    .map(([frame, n]) => JSON.stringify(frame).slice(0, n % JSON.stringify(frame).length)),
  // A valid frame with one field dropped, replaced or added.
  fc
    .record({
      base: fc.constantFrom(...validFrames),
      key: fc.oneof(
        fc.constantFrom("type", "id", "text", "on", "seq", "v", "cursor", "__proto__"),
        fc.string()
      ),
      value: fc.jsonValue({ maxDepth: 2 }),
      drop: fc.boolean()
    })
    .map(({ base, key, value, drop }) => {
      const copy: Record<string, unknown> = { ...base }
      if (drop) delete copy[key]
      else Object.defineProperty(copy, key, { value, enumerable: true, configurable: true, writable: true })
      return JSON.stringify(copy)
    }),
  // Shaped like the protocol, with arbitrary field values (some of them valid messages).
  fc
    .record(
      {
        type: fc.constantFrom("message", "typing", "read", "ping", "subscribe", "hello", "constructor"),
        id: fc.oneof(fc.stringMatching(/^[A-Za-z0-9_-]{8,64}$/), fc.string(), fc.integer()),
        text: fc.oneof(
          fc.string({ unit: "grapheme", maxLength: 50 }),
          fc.nat(6_000).map((n) => "x".repeat(n)),
          fc.constant("   "),
          fc.jsonValue({ maxDepth: 1 })
        ),
        on: fc.jsonValue({ maxDepth: 1 }),
        seq: fc.oneof(fc.integer(), fc.double(), fc.string())
      },
      { requiredKeys: ["type"] }
    )
    .map((frame) => JSON.stringify(frame)),
  // Well-formed messages whose text may be fine, blank or over the limit.
  fc
    .record({
      id: fc.stringMatching(/^[A-Za-z0-9_-]{8,64}$/),
      text: fc.oneof(
        fc.string({ unit: "grapheme", minLength: 1, maxLength: 80 }),
        fc.constantFrom("", " ", "\n\t "),
        fc.integer({ min: 3_990, max: 4_100 }).map((n) => "y".repeat(n))
      )
    })
    .map(({ id, text }) => JSON.stringify({ type: "message", id, text })),
  fc.constantFrom(
    '{"__proto__":{"type":"ping"}}',
    '{"constructor":{"prototype":{"type":"message"}}}',
    '{"type":"message","id":"aaaaaaaa","text":"x","__proto__":{"text":1}}',
    `{"type":"message","id":"${"a".repeat(65)}","text":"id too long"}`,
    "null",
    "",
    "\u0000",
    '{"type":"ping"}{"type":"ping"}'
  )
)

/** A hello after the greeting is refused in-band; one of another version closes the socket. */
const closesSocket = (text: string) => {
  const parsed = parseClientFrame(text)
  return parsed._tag === "frame" && parsed.frame.type === "hello" && parsed.frame.v !== 1
}

let rig: ChatRig

beforeAll(async () => {
  // Rate limits off for the property (every frame must reach the parser); they are tested below.
  rig = await startRig({
    frameRate: { burst: 1_000_000, perSecond: 1_000_000 },
    messageRate: { burst: 1_000_000, perSecond: 1_000_000 }
  })
})
afterAll(async () => {
  await rig?.close()
})

const storedMessages = async () =>
  (await rig.hub.events.after(0, 100_000)).flatMap((e) =>
    e.body._tag === "message.received" ? [e.body.message] : []
  )

type Frame = TestClient["frames"][number]

/** The first frame from index `start` on that matches; fails after 5 s. */
const waitFor = async (
  client: TestClient,
  start: number,
  match: (frame: Frame) => boolean
): Promise<Frame> => {
  for (let i = 0; i < 2_500; i++) {
    const found = client.frames.slice(start).find(match)
    if (found) return found
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
  throw new Error(`no matching frame; got ${JSON.stringify(client.frames.slice(start))}`)
}

/** Sends a ping and waits for its pong: everything the server said before it is in `frames`. */
const sync = async (client: TestClient) => {
  const pongs = client.all("pong").length
  client.send({ type: "ping" })
  for (let i = 0; i < 500 && client.all("pong").length <= pongs; i++)
    await new Promise((r) => setTimeout(r, 2))
  if (client.all("pong").length <= pongs) throw new Error("the server stopped answering pings")
}

describe("chat protocol fuzz (fast-check)", () => {
  it("random and malformed frames get error frames, never crash the connection, and store nothing but valid messages", async () => {
    // What the runs exercised, so a generator that drifted into one corner fails loudly.
    const seen = { invalid: 0, stored: 0, refusedMessages: 0, otherValid: 0 }
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          randomFrame.filter((f) => !closesSocket(f)),
          { minLength: 1, maxLength: 20 }
        ),
        async (sent) => {
          const before = (await storedMessages()).length
          const { client } = await greet(rig.url)
          const accepted = new Map<string, string>()
          try {
            for (const text of sent) {
              const start = client.frames.length
              client.send(text)
              const parsed = parseClientFrame(text)
              if (parsed._tag === "frame" && parsed.frame.type === "message") {
                const id = parsed.frame.id
                // A valid message is answered by an ack or an error naming it, once committed.
                const answer = await waitFor(
                  client,
                  start,
                  (f) => (f.type === "ack" && f.id === id) || (f.type === "error" && f.ref === id)
                )
                if (answer.type === "ack" && !answer.duplicate) accepted.set(id, parsed.frame.text.trim())
                if (answer.type === "error") {
                  expect(["invalid", "too_long"]).toContain(answer.code)
                  seen.refusedMessages += 1
                }
              }
              await sync(client)
              const said = client.frames
                .slice(start)
                .filter((f) => f.type !== "message" && f.type !== "conversation")
              const errors = said.filter((f) => f.type === "error")
              if (parsed._tag === "invalid") seen.invalid += 1
              else if (parsed.frame.type !== "message") seen.otherValid += 1
              if (parsed._tag === "invalid") {
                // Exactly one bad_frame error, and it explains itself.
                expect(errors.map((f) => f.code)).toEqual(["bad_frame"])
                expect(String(errors[0]!.message).length).toBeGreaterThan(20)
              } else if (parsed.frame.type === "hello") {
                expect(errors.map((f) => f.code)).toEqual(["bad_frame"])
              } else if (parsed.frame.type !== "message") {
                expect(errors).toEqual([])
              }
            }
            // Still the same connection, still answering.
            await sync(client)
            expect(client.socket.readyState).toBe(WebSocket.OPEN)
          } finally {
            await client.close()
          }
          const stored = (await storedMessages()).slice(before)
          expect(
            stored.map((m) => m.parts.map((p) => (p._tag === "text" ? p.text : p._tag)).join(""))
          ).toEqual([...accepted.values()])
          seen.stored += stored.length
        }
      ),
      { numRuns: 60 }
    )
    expect(seen.invalid).toBeGreaterThan(100)
    expect(seen.stored).toBeGreaterThan(0)
    expect(seen.refusedMessages).toBeGreaterThan(0)
    expect(seen.otherValid).toBeGreaterThan(0)
  }, 120_000)

  it("binary, oversized and non-UTF-8 frames end only that socket; nothing is stored and the server keeps serving", async () => {
    const before = (await storedMessages()).length
    const binary = await greet(rig.url)
    binary.client.socket.send(
      Buffer.from(JSON.stringify({ type: "message", id: clientId(), text: "as binary" }))
    )
    expect((await binary.client.next("error")).code).toBe("bad_frame")
    await binary.client.close()

    // Above maxPayload (64 KiB): ws closes with 1009 before the frame is parsed.
    const oversized = await greet(rig.url)
    oversized.client.send(JSON.stringify({ type: "message", id: clientId(), text: "x".repeat(70 * 1024) }))
    expect((await oversized.client.closed).code).toBe(1009)

    // Invalid UTF-8 in a text frame: ws closes with 1007.
    const garbled = await greet(rig.url)
    garbled.client.socket.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false })
    expect((await garbled.client.closed).code).toBe(1007)

    expect((await storedMessages()).length).toBe(before)
    const { client } = await greet(rig.url)
    const id = clientId()
    client.send({ type: "message", id, text: "still here" })
    expect((await client.next("ack", (f) => f.id === id)).duplicate).toBe(false)
    await client.close()
  })
})

describe("chat protocol fuzz under the default rate limits", () => {
  it("a flood of garbage is answered with rate_limited, then the socket is closed; nothing stored", async () => {
    const limited = await startRig()
    try {
      const { client } = await greet(limited.url)
      const flood = fc.sample(randomFrame, { numRuns: 200, seed: 42 })
      for (const text of flood) if (client.socket.readyState === WebSocket.OPEN) client.send(text)
      const closed = await client.closed
      expect(closed.code).toBe(1008)
      const codes = new Set(client.all("error").map((f) => f.code))
      expect(codes.has("rate_limited")).toBe(true)
      const stored = (await limited.hub.events.after(0)).filter((e) => e.body._tag === "message.received")
      const validMessages = flood.filter((text) => {
        const parsed = parseClientFrame(text)
        return parsed._tag === "frame" && parsed.frame.type === "message"
      })
      // Only frames that were valid messages can have been stored, and the burst bounds how many.
      expect(stored.length).toBeLessThanOrEqual(Math.min(validMessages.length, 10))
      const again = await greet(limited.url)
      await again.client.close()
    } finally {
      await limited.close()
    }
  })
})
