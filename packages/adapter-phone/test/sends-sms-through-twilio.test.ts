import { setTimeout as sleep } from "node:timers/promises"
import { describe, expect, it } from "vitest"
import {
  fixture,
  messagingServiceSid,
  type PhoneKit,
  phoneKitPerTest,
  receivedMessages,
  signedRequest,
  smsWebhookUrl,
  textIn,
  unusedContext
} from "./phoneTestKit.js"
import { createMessageViolations } from "./twilioApiMock.js"

const kits = phoneKitPerTest()
let kit: PhoneKit | undefined

const waitFor = async <T>(probe: () => Promise<T | undefined>, ms = 5_000): Promise<T> => {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error("timed out waiting")
    await sleep(20)
  }
}

const statusCallback = (url: string, sid: string, status: string, extra: Record<string, string> = {}) =>
  signedRequest(url, {
    ...fixture("message-status"),
    MessageSid: sid,
    SmsSid: sid,
    MessageStatus: status,
    SmsStatus: status,
    ...extra
  })

describe("SMS out", () => {
  it("the mock rejects what Twilio's OpenAPI rejects (the check can fail)", () => {
    expect(createMessageViolations({ Body: ["hi"] })).toEqual(
      expect.arrayContaining(["missing required To", "neither From nor MessagingServiceSid"])
    )
    expect(
      createMessageViolations({
        To: ["+14155552671"],
        MessagingServiceSid: ["MG1"],
        Body: ["x"],
        Sender: ["y"]
      })
    ).toEqual(
      expect.arrayContaining([
        "unknown parameter Sender",
        expect.stringContaining("MessagingServiceSid does not match")
      ])
    )
  })

  it("an agent's reply goes out as a request valid for Twilio's OpenAPI, and status callbacks move it to delivered, never back", async () => {
    kit = await kits.start({}, { runWorkers: true })
    await textIn(kit.phone)
    const [inbound] = await receivedMessages(kit.hub)
    const reply = await kit.hub.reply(inbound!.conversationId, "Your parcel left the warehouse today.")
    const post = await waitFor(async () => kit!.api.requests.find((r) => r.method === "POST"))
    expect(post.violations).toEqual([])
    expect(post.params).toMatchObject({
      To: ["+14155552671"],
      MessagingServiceSid: [messagingServiceSid],
      Body: ["Your parcel left the warehouse today."]
    })
    const callbackUrl = post.params.StatusCallback![0]!
    expect(callbackUrl.startsWith(`${smsWebhookUrl}/status?k=`)).toBe(true)
    const sid = kit.api.messages[0]!.sid
    const stored = async () =>
      (await kit!.hub.thread(inbound!.conversationId)).messages.find((m) => m.id === reply.id)!
    await waitFor(async () => ((await stored()).providerMessageId === sid ? true : undefined))

    for (const status of ["sent", "delivered"]) {
      const response = await kit.phone.sms.handleWebhook!(statusCallback(callbackUrl, sid, status))
      expect(response.status).toBe(200)
    }
    expect((await stored()).status._tag).toBe("delivered")
    // Out of order and duplicated, as Twilio delivers them: nothing moves backwards.
    for (const status of ["sent", "queued", "failed", "delivered"])
      await kit.phone.sms.handleWebhook!(
        statusCallback(callbackUrl, sid, status, status === "failed" ? { ErrorCode: "30003" } : {})
      )
    expect((await stored()).status._tag).toBe("delivered")
    const statusEvents = (await kit.hub.events.after(0)).filter((e) => e.body._tag === "message.status")
    // The hub marks the message sent when Twilio accepts it, so only `delivered` moves it on.
    expect(statusEvents.map((e) => (e.body as { status: { _tag: string } }).status._tag)).toEqual([
      "delivered"
    ])
  })

  it("an undelivered callback marks the message failed with Twilio's error code and reason", async () => {
    kit = await kits.start({}, { runWorkers: true })
    await textIn(kit.phone)
    const [inbound] = await receivedMessages(kit.hub)
    const reply = await kit.hub.reply(inbound!.conversationId, "Hello")
    const post = await waitFor(async () => kit!.api.requests.find((r) => r.method === "POST"))
    const sid = kit.api.messages[0]!.sid
    const thread = async () =>
      (await kit!.hub.thread(inbound!.conversationId)).messages.find((m) => m.id === reply.id)!
    await waitFor(async () => ((await thread()).providerMessageId === sid ? true : undefined))
    await kit.phone.sms.handleWebhook!(
      statusCallback(post.params.StatusCallback![0]!, sid, "undelivered", { ErrorCode: "30007" })
    )
    expect((await thread()).status).toMatchObject({ _tag: "failed", code: "30007", retryable: false })
  })

  it("sends from a number when no Messaging Service is configured, with MMS media", async () => {
    kit = await kits.start({ messagingServiceSid: undefined, from: "+15017122661" })
    const receipt = await kit.phone.sms.send({
      messageId: "m1",
      conversationId: "cv1",
      to: "+14155552671",
      parts: [
        { _tag: "text", text: "Here is the label" },
        {
          _tag: "attachment",
          attachment: { ref: "https://cdn.example.com/label.png", contentType: "image/png" }
        }
      ],
      idempotencyKey: "m1",
      attempt: 1,
      metadata: {}
    })
    const post = kit.api.requests.find((r) => r.method === "POST")!
    expect(post.violations).toEqual([])
    expect(post.params).toMatchObject({
      From: ["+15017122661"],
      MediaUrl: ["https://cdn.example.com/label.png"]
    })
    expect(receipt.providerMessageId).toBe(kit.api.messages[0]!.sid)
  })

  it("refuses texts over maxSegments before calling Twilio", async () => {
    kit = await kits.start({ maxSegments: 2 })
    const error = await kit.phone.sms
      .send({
        messageId: "m1",
        conversationId: "cv1",
        to: "+14155552671",
        parts: [{ _tag: "text", text: "x".repeat(307) }],
        idempotencyKey: "m1",
        attempt: 1,
        metadata: {}
      })
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ _tag: "SendFailed", retryable: false })
    expect(kit.api.requests).toHaveLength(0)
  })
})

describe("a send whose outcome is unknown is not blindly repeated", () => {
  const request = (attempt: number) => ({
    messageId: "msg_unknown",
    conversationId: "cv1",
    to: "+14155552671",
    parts: [{ _tag: "text" as const, text: "Your code is 1234" }],
    idempotencyKey: "msg_unknown",
    attempt,
    metadata: {}
  })

  it("a timeout after the request left is retryable, and the retry finds the created message instead of sending again", async () => {
    kit = await kits.start({ requestTimeoutMs: 300 })
    kit.api.faults.push({ kind: "slow", ms: 1_000 })
    const first = await kit.phone.sms.send(request(1)).catch((e: unknown) => e)
    expect(first).toMatchObject({ _tag: "SendFailed", retryable: true })
    expect(kit.api.messages).toHaveLength(1)
    const second = await kit.phone.sms.send(request(2))
    expect(second.providerMessageId).toBe(kit.api.messages[0]!.sid)
    expect(kit.api.messages).toHaveLength(1)
    const lookups = kit.api.requests.filter((r) => r.method === "GET")
    expect(lookups).toHaveLength(1)
    expect(lookups[0]!.violations).toEqual([])
    expect(lookups[0]!.params.To).toEqual(["+14155552671"])
  })

  it("a status callback carrying the idempotency key settles the retry without a look-up", async () => {
    kit = await kits.start({ requestTimeoutMs: 300 })
    kit.api.faults.push({ kind: "slow", ms: 1_000 })
    await kit.phone.sms.send(request(1)).catch(() => undefined)
    const callbackUrl = kit.api.requests[0]!.params.StatusCallback![0]!
    await kit.phone.sms.start!(unusedContext)
    await kit.phone.sms.handleWebhook!(statusCallback(callbackUrl, kit.api.messages[0]!.sid, "sent"))
    const second = await kit.phone.sms.send(request(2))
    expect(second.providerMessageId).toBe(kit.api.messages[0]!.sid)
    expect(kit.api.requests.filter((r) => r.method === "GET")).toHaveLength(0)
  })

  it("when the look-up finds nothing, the retry sends once", async () => {
    kit = await kits.start()
    const receipt = await kit.phone.sms.send(request(2))
    expect(kit.api.messages).toHaveLength(1)
    expect(receipt.providerMessageId).toBe(kit.api.messages[0]!.sid)
  })

  it("a connection refused never reached Twilio: retryable, and no look-up is needed", async () => {
    kit = await kits.start({ apiBaseUrl: "http://127.0.0.1:9" })
    const error = await kit.phone.sms.send(request(1)).catch((e: unknown) => e)
    expect(error).toMatchObject({ _tag: "SendFailed", retryable: true, code: "ECONNREFUSED" })
  })
})
