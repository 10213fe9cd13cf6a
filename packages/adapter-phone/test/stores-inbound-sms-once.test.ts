import { beforeEach, describe, expect, it } from "vitest"
import {
  fixture,
  type PhoneKit,
  phoneKitPerTest,
  receivedMessages,
  signedRequest,
  smsWebhookUrl,
  textIn
} from "./phoneTestKit.js"

const kits = phoneKitPerTest()
let kit: PhoneKit
beforeEach(async () => {
  kit = await kits.start({ defaultRegion: "US" })
})

describe("inbound SMS/MMS", () => {
  it("stores the same MessageSid delivered 50 times concurrently exactly once", async () => {
    const responses = await Promise.all(Array.from({ length: 50 }, () => textIn(kit.phone)))
    expect(responses.map((r) => r.status)).toEqual(Array(50).fill(200))
    const received = await receivedMessages(kit.hub)
    expect(received).toHaveLength(1)
    expect(received[0]!.message.providerMessageId).toBe("SM1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d")
    expect(received[0]!.message.parts).toEqual([{ _tag: "text", text: "Hi, my order has not arrived yet" }])
  })

  it("normalizes From to E.164 so national and international forms are one contact", async () => {
    await textIn(kit.phone)
    await kit.phone.sms.handleWebhook!(
      signedRequest(smsWebhookUrl, { ...fixture("inbound-sms"), MessageSid: "SM2", From: "(415) 555-2671" })
    )
    const received = await receivedMessages(kit.hub)
    expect(received).toHaveLength(2)
    expect(received[0]!.conversationId).toBe(received[1]!.conversationId)
    const { contact } = await kit.hub.thread(received[0]!.conversationId)
    expect(contact.identities.find((i) => i.channel === "sms")?.address).toBe("+14155552671")
  })

  it("keeps each MediaUrlN of an MMS as an attachment reference with its content type", async () => {
    const response = await textIn(kit.phone, fixture("inbound-mms"))
    expect(response.status).toBe(200)
    const [received] = await receivedMessages(kit.hub)
    const mms = fixture("inbound-mms")
    expect(received!.message.parts).toEqual([
      { _tag: "text", text: "Photo of the damaged box" },
      { _tag: "attachment", attachment: { ref: mms.MediaUrl0, contentType: "image/jpeg" } },
      { _tag: "attachment", attachment: { ref: mms.MediaUrl1, contentType: "image/png" } }
    ])
  })

  it("answers 400 and stores nothing when a signed SMS comes from something that is not a phone number", async () => {
    const response = await kit.phone.sms.handleWebhook!(
      signedRequest(smsWebhookUrl, { ...fixture("inbound-sms"), From: "ACME" })
    )
    expect(response.status).toBe(400)
    expect(await kit.hub.events.after(0)).toEqual([])
  })

  it("answers 503 (Twilio retries) when the hub is not running, and stores the retry later", async () => {
    await kit.phone.sms.stop!()
    const first = await textIn(kit.phone)
    expect(first.status).toBe(503)
    expect(await receivedMessages(kit.hub)).toHaveLength(0)
  })
})
