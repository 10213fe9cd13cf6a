import { Webhook } from "standardwebhooks"
import { describe, expect, it } from "vitest"
import {
  generateWebhookSecret,
  signWebhook,
  verifyWebhook,
  verifyWebhookEither,
  verifyWebhookRequest,
  WebhookVerificationError
} from "../src/index.js"

const body = JSON.stringify({
  type: "message.received",
  timestamp: "2026-11-25T10:00:00.000Z",
  data: { seq: 7, at: 1_795_000_000_000, body: { _tag: "message.received", conversationId: "cv_1" } }
})
// The current second: the reference library checks timestamps against the real clock.
const at = new Date(Math.floor(Date.now() / 1000) * 1000)
const seconds = Math.floor(at.getTime() / 1000)
const now = () => at

const reasonOf = (result: ReturnType<typeof verifyWebhookEither>) =>
  result._tag === "Left" ? result.left.reason : "verified"

describe("Standard Webhooks signatures", () => {
  it("matches the reference implementation both ways", () => {
    const secret = generateWebhookSecret()
    const ours = signWebhook([secret], "evt_7", seconds, body)
    // The standardwebhooks package (the scheme's reference library) accepts our delivery...
    expect(new Webhook(secret).verify(body, { ...ours }) as unknown).toEqual(JSON.parse(body))
    // ...and we accept one it signed.
    const theirs = new Webhook(secret).sign("evt_7", at, body)
    expect(theirs).toBe(ours["webhook-signature"])
    const headers = {
      "webhook-id": "evt_7",
      "webhook-timestamp": String(seconds),
      "webhook-signature": theirs
    }
    expect(verifyWebhook(secret, headers, body, { now }).payload.data.seq).toBe(7)
  })

  it("signs with both secrets during a rotation, so a receiver holding either one verifies", () => {
    const [next, previous] = [generateWebhookSecret(), generateWebhookSecret()]
    const headers = signWebhook([next, previous], "evt_7", seconds, body)
    expect(headers["webhook-signature"]!.split(" ")).toHaveLength(2)
    expect(verifyWebhook(previous, headers, body, { now }).id).toBe("evt_7")
    expect(verifyWebhook(next, headers, body, { now }).id).toBe("evt_7")
    // A receiver mid-rotation passes both of its secrets and accepts a sender on either.
    const oldSender = signWebhook([previous], "evt_7", seconds, body)
    expect(verifyWebhook([next, previous], oldSender, body, { now }).id).toBe("evt_7")
    expect(reasonOf(verifyWebhookEither(generateWebhookSecret(), headers, body, { now }))).toBe(
      "no_matching_signature"
    )
  })

  it("verifies raw bytes, node:http header objects and fetch Headers alike", () => {
    const secret = generateWebhookSecret()
    const headers = signWebhook([secret], "evt_7", seconds, body)
    expect(verifyWebhook(secret, new Headers(headers), Buffer.from(body), { now }).id).toBe("evt_7")
    expect(verifyWebhook(secret, { ...headers, host: "x" }, new TextEncoder().encode(body), { now }).id).toBe(
      "evt_7"
    )
  })

  it("verifies a fetch-style Request in one call", async () => {
    const secret = generateWebhookSecret()
    const request = new Request("https://crm.example.com/hooks", {
      method: "POST",
      headers: signWebhook([secret], "evt_7", seconds, body),
      body
    })
    expect((await verifyWebhookRequest(secret, request, { now })).payload.type).toBe("message.received")
  })

  it("refuses tampering, replays outside the tolerance, missing headers and bad secrets", () => {
    const secret = generateWebhookSecret()
    const headers = signWebhook([secret], "evt_7", seconds, body)
    const verify = (h: Record<string, string>, b = body, options = { now }) =>
      reasonOf(verifyWebhookEither(secret, h, b, options))
    expect(verify(headers, body.replace("cv_1", "cv_2"))).toBe("no_matching_signature")
    expect(verify({ ...headers, "webhook-id": "evt_8" })).toBe("no_matching_signature")
    expect(verify({ ...headers, "webhook-timestamp": String(seconds + 1) })).toBe("no_matching_signature")
    expect(verify(headers, body, { now: () => new Date(at.getTime() + 301_000) })).toBe(
      "timestamp_out_of_tolerance"
    )
    expect(verify({ ...headers, "webhook-timestamp": "yesterday" })).toBe("invalid_timestamp")
    const { "webhook-signature": _, ...unsigned } = headers
    expect(verify(unsigned)).toBe("missing_headers")
    expect(verify({ ...headers, "webhook-signature": "v2,abc" })).toBe("no_matching_signature")
    expect(reasonOf(verifyWebhookEither("whsec_c2hvcnQ=", headers, body, { now }))).toBe("invalid_secret")
    expect(() => verifyWebhook(secret, headers, "{}", { now })).toThrow(WebhookVerificationError)
  })

  it("refuses a genuine signature over a body that is not a dialogi payload", () => {
    const secret = generateWebhookSecret()
    const headers = signWebhook([secret], "evt_7", seconds, '{"hello":1}')
    expect(reasonOf(verifyWebhookEither(secret, headers, '{"hello":1}', { now }))).toBe("invalid_payload")
  })
})
