import { describe, expect, it } from "vitest"
import { parseClientFrame } from "../src/parse.js"
import fixtures from "./fixtures/client-frames.json" with { type: "json" }

const text = (frame: unknown) => (typeof frame === "string" ? frame : JSON.stringify(frame))

describe("chat protocol frames", () => {
  it.each(fixtures.valid.map((f) => [text(f)]))("decodes %s", (frame) => {
    expect(parseClientFrame(frame)).toMatchObject({ _tag: "frame" })
  })

  it.each(fixtures.invalid.map((f) => [text(f)]))("refuses %s with a reason", (frame) => {
    const parsed = parseClientFrame(frame)
    expect(parsed._tag).toBe("invalid")
    if (parsed._tag === "invalid") expect(parsed.reason.length).toBeGreaterThan(0)
  })
})
