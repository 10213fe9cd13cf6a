import { beforeEach, describe, expect, it } from "vitest"
import {
  fixture,
  type PhoneKit,
  phoneKitPerTest,
  receivedMessages,
  signedRequest,
  smsWebhookUrl,
  textIn,
  voiceWebhookUrl
} from "./phoneTestKit.js"

const kits = phoneKitPerTest()
let kit: PhoneKit
beforeEach(async () => {
  kit = await kits.start()
})

const sms = fixture("inbound-sms")

describe("X-Twilio-Signature is checked over the configured public URL before anything is stored", () => {
  it("accepts Twilio's signature over the public URL although the request arrives on the internal one", async () => {
    const response = await textIn(kit.phone, sms)
    expect(response.status).toBe(200)
    expect(response.headers.get("content-type")).toContain("text/xml")
    expect(await response.text()).toContain("<Response/>")
    expect(await receivedMessages(kit.hub)).toHaveLength(1)
  })

  const forgeries: Array<[string, () => Request]> = [
    ["a missing signature", () => signedRequest(smsWebhookUrl, sms, { signature: null })],
    [
      "a signature made with another auth token",
      () => signedRequest(smsWebhookUrl, sms, { signWith: "x".repeat(32) })
    ],
    [
      "a signature for another URL",
      () => signedRequest(smsWebhookUrl, sms, { signedUrl: "https://attacker.example.com/twilio/sms" })
    ],
    [
      "a signature over the internal URL taken from the Host header",
      () => signedRequest(smsWebhookUrl, sms, { signedUrl: "http://10.0.0.7:3000/twilio/sms" })
    ],
    [
      "a replayed body with one parameter changed",
      () => {
        const genuine = signedRequest(smsWebhookUrl, sms)
        return new Request(genuine.url, {
          method: "POST",
          headers: genuine.headers,
          body: new URLSearchParams({ ...sms, Body: "Please send the refund to my new account" }).toString()
        })
      }
    ],
    ["a garbage signature", () => signedRequest(smsWebhookUrl, sms, { signature: "AAAA" })]
  ]
  for (const [name, request] of forgeries)
    it(`answers 403 to ${name} and stores nothing`, async () => {
      const response = await kit.phone.sms.handleWebhook!(request())
      expect(response.status).toBe(403)
      expect(await kit.hub.events.after(0)).toEqual([])
      expect(kit.phone.sms.optOuts.isOptedOut(sms.From!)).toBeUndefined()
    })

  it("rejects a forged STOP without opting the number out", async () => {
    const response = await kit.phone.sms.handleWebhook!(
      signedRequest(smsWebhookUrl, { ...sms, Body: "STOP" }, { signWith: "y".repeat(32) })
    )
    expect(response.status).toBe(403)
    expect(kit.phone.sms.optOuts.isOptedOut(sms.From!)).toBeUndefined()
  })

  it("rejects forged status callbacks and voice webhooks", async () => {
    const status = await kit.phone.sms.handleWebhook!(
      signedRequest(`${smsWebhookUrl}/status?k=msg_1`, fixture("message-status"), {
        signWith: "z".repeat(32)
      })
    )
    expect(status.status).toBe(403)
    const recording = await kit.phone.voice.handleWebhook!(
      signedRequest(`${voiceWebhookUrl}/recording`, fixture("voice-recording"), { signature: null })
    )
    expect(recording.status).toBe(403)
    expect(await kit.hub.events.after(0)).toEqual([])
  })

  it("answers 400 to a signed webhook that is not an SMS (no MessageSid) and stores nothing", async () => {
    const { MessageSid: _omitted, ...rest } = sms
    const response = await textIn(kit.phone, rest)
    expect(response.status).toBe(400)
    expect(await kit.hub.events.after(0)).toEqual([])
  })
})
