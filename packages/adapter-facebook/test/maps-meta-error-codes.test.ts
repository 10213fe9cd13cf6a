import { describe, expect, it } from "vitest"
import { toSendFailed } from "../src/index.js"

// [http status, code, subcode, retryable, words the reason must contain, retry wait]
const table: Array<[number, number | undefined, number | undefined, boolean, string, number | undefined]> = [
  [400, 613, undefined, true, "rate limit", 60_000],
  [400, 4, undefined, true, "rate limit", 60_000],
  [400, 17, undefined, true, "rate limit", 60_000],
  [400, 32, undefined, true, "rate limit", 60_000],
  [500, 1200, undefined, true, "temporary", undefined],
  [500, 2, undefined, true, "temporarily unavailable", undefined],
  [500, 1, undefined, true, "unknown error", undefined],
  [400, 10, 2018278, false, "outside the 24-hour messaging window", undefined],
  [400, 10, undefined, false, "messaging window", undefined],
  [400, 200, undefined, false, "permission", undefined],
  [400, 230, undefined, false, "pages_messaging", undefined],
  [400, 551, 1545041, false, "not available", undefined],
  [400, 551, undefined, false, "not available", undefined],
  [400, 190, 460, false, "reconnect the page", undefined],
  [400, 100, 2018001, false, "no Messenger user", undefined],
  [400, 100, undefined, false, "parameter", undefined],
  [503, undefined, undefined, true, "HTTP 503", undefined],
  [429, undefined, undefined, true, "HTTP 429", undefined],
  [400, 99999, undefined, false, "code 99999", undefined],
  [502, 99999, undefined, true, "code 99999", undefined]
]

describe("Meta error codes map to permanent or retryable failures", () => {
  for (const [status, code, subcode, retryable, words, wait] of table) {
    it(`HTTP ${status} code ${code ?? "-"}${subcode ? `/${subcode}` : ""} -> ${retryable ? "retryable" : "permanent"}`, () => {
      const failure = toSendFailed(
        "messenger",
        status,
        code === undefined
          ? undefined
          : { message: "(#x) Meta's text", code, ...(subcode ? { error_subcode: subcode } : {}) }
      )
      expect(failure._tag).toBe("SendFailed")
      expect(failure.retryable).toBe(retryable)
      expect(failure.reason).toMatch(/^\[dialogi\/messenger\] /)
      expect(failure.reason).toContain(words)
      expect(failure.retryAfterMs).toBe(wait)
      expect(failure.code).toBe(
        code === undefined ? `http_${status}` : subcode ? `${code}/${subcode}` : String(code)
      )
    })
  }
})
