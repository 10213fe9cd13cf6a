import { describe, expect, it } from "vitest"
import { classifyTwilioError, countSegments, deliveryStatusOf } from "../src/index.js"

describe("Twilio error codes decide permanent vs retryable", () => {
  const table: Array<[number | undefined, number | undefined, boolean]> = [
    [21211, 400, false], // invalid To
    [21610, 400, false], // unsubscribed recipient
    [21614, 400, false], // not a mobile number
    [21408, 400, false], // region not enabled
    [30007, undefined, false], // carrier filtered
    [20429, 429, true], // too many requests
    [undefined, 429, true],
    [20500, 500, true],
    [undefined, 503, true],
    [30001, undefined, true], // queue overflow
    [99999, 400, false], // unknown 4xx: would fail again
    [99999, 502, true] // unknown 5xx: not processed
  ]
  for (const [code, status, retryable] of table)
    it(`${code ?? "no code"} / HTTP ${status ?? "-"} -> ${retryable ? "retryable" : "permanent"}`, () => {
      expect(classifyTwilioError(code, status).retryable).toBe(retryable)
    })

  it("maps Twilio message statuses onto delivery statuses", () => {
    expect(deliveryStatusOf("sending", undefined)).toEqual({ _tag: "queued" })
    expect(deliveryStatusOf("sent", undefined)).toEqual({ _tag: "sent" })
    expect(deliveryStatusOf("delivered", undefined)).toEqual({ _tag: "delivered" })
    expect(deliveryStatusOf("undelivered", "30003")).toMatchObject({
      _tag: "failed",
      code: "30003",
      retryable: false
    })
    expect(deliveryStatusOf("receiving", undefined)).toBeUndefined()
  })
})

describe("SMS segments follow GSM-7 / UCS-2 rules", () => {
  const cases: Array<[string, string, "GSM-7" | "UCS-2", number]> = [
    ["160 GSM characters fit one segment", "a".repeat(160), "GSM-7", 1],
    ["161 need two of 153", "a".repeat(161), "GSM-7", 2],
    ["306 fill two", "a".repeat(306), "GSM-7", 2],
    ["307 need three", "a".repeat(307), "GSM-7", 3],
    ["extension characters count twice", "€".repeat(80), "GSM-7", 1],
    ["81 euro signs overflow", "€".repeat(81), "GSM-7", 2],
    ["one non-GSM character switches to UCS-2", `${"a".repeat(69)}ж`, "UCS-2", 1],
    ["71 UCS-2 units need two of 67", `${"a".repeat(70)}ж`, "UCS-2", 2],
    ["an emoji is two units", "😀".repeat(35), "UCS-2", 1],
    ["1600 GSM characters", "a".repeat(1600), "GSM-7", 11]
  ]
  for (const [name, text, encoding, segments] of cases)
    it(name, () => {
      expect(countSegments(text)).toMatchObject({ encoding, segments })
    })
})
