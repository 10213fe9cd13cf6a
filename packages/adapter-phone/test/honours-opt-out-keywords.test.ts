import { beforeEach, describe, expect, it } from "vitest"
import { createPhoneAdapters, memoryOptOutStore, type OptOutStore } from "../src/index.js"
import { keywordOf } from "../src/keywords.js"
import {
  fixture,
  makeConfig,
  type PhoneKit,
  phoneKitPerTest,
  receivedMessages,
  signedRequest,
  smsWebhookUrl,
  unusedContext
} from "./phoneTestKit.js"

const kits = phoneKitPerTest()
let kit: PhoneKit
let optOutStore: OptOutStore
beforeEach(async () => {
  optOutStore = memoryOptOutStore()
  kit = await kits.start({ optOutStore })
})

const text = (sid: string, body: string) =>
  signedRequest(smsWebhookUrl, { ...fixture("inbound-sms"), MessageSid: sid, Body: body })

describe("STOP/START/HELP keywords", () => {
  it("recognises Twilio's keywords only as the whole body", () => {
    expect(keywordOf(" stop ")).toEqual({ keyword: "STOP", intent: "opt-out" })
    expect(keywordOf("Unsubscribe.")).toEqual({ keyword: "UNSUBSCRIBE", intent: "opt-out" })
    expect(keywordOf("start")?.intent).toBe("opt-in")
    expect(keywordOf("help")?.intent).toBe("help")
    expect(keywordOf("please stop calling me")).toBeUndefined()
  })

  it("refuses a reply to a number that sent STOP, says why, and sends nothing", async () => {
    await kit.phone.sms.handleWebhook!(text("SM1", "Where is my parcel?"))
    const stop = await kit.phone.sms.handleWebhook!(text("SM2", "STOP"))
    expect(stop.status).toBe(200)
    const [first] = await receivedMessages(kit.hub)
    const check = await kit.hub.canReply(first!.conversationId, "sms")
    expect(check.ok).toBe(false)
    if (check.ok) return
    expect(check.refusal._tag).toBe("OptedOut")
    expect(check.refusal).toMatchObject({ channel: "sms" })
    expect((check.refusal as { detail: string }).detail).toContain("STOP")
    await expect(
      kit.hub.reply(first!.conversationId, "It ships today", { channel: "sms" })
    ).rejects.toMatchObject({
      _tag: "ReplyRefused"
    })
    const direct = await kit.phone.sms
      .send({
        messageId: "m1",
        conversationId: first!.conversationId,
        to: "+14155552671",
        parts: [{ _tag: "text", text: "hi" }],
        idempotencyKey: "m1",
        attempt: 1,
        metadata: {}
      })
      .catch((e: unknown) => e)
    expect(direct).toMatchObject({ _tag: "SendFailed", retryable: false, code: "21610" })
    expect(kit.api.requests.filter((r) => r.method === "POST")).toHaveLength(0)
    // The STOP itself is in the thread, so the agent sees why.
    expect((await receivedMessages(kit.hub)).map((m) => m.message.parts)).toContainEqual([
      { _tag: "text", text: "STOP" }
    ])
  })

  it("allows replies again after START, and a later START wins over an earlier STOP", async () => {
    await kit.phone.sms.handleWebhook!(text("SM1", "STOP"))
    await kit.phone.sms.handleWebhook!(text("SM2", "START"))
    const [first] = await receivedMessages(kit.hub)
    expect(await kit.hub.canReply(first!.conversationId, "sms")).toMatchObject({
      ok: true,
      address: "+14155552671"
    })
  })

  it("keeps opt-outs in the configured store: a new adapter over the same store still refuses", async () => {
    await kit.phone.sms.handleWebhook!(text("SM1", "stop"))
    const restarted = createPhoneAdapters(makeConfig(kit.api, { optOutStore }))
    await restarted.sms.start!(unusedContext)
    expect(restarted.sms.optOuts.isOptedOut("+14155552671")?.keyword).toBe("STOP")
  })

  it("records an opt-out Twilio reports with error 21610", async () => {
    kit.api.faults.push({
      kind: "error",
      status: 400,
      code: 21610,
      message: "Attempt to send to unsubscribed recipient"
    })
    const error = await kit.phone.sms
      .send({
        messageId: "m2",
        conversationId: "cv",
        to: "+14155550100",
        parts: [{ _tag: "text", text: "hi" }],
        idempotencyKey: "m2",
        attempt: 1,
        metadata: {}
      })
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ _tag: "SendFailed", retryable: false, code: "21610" })
    expect(kit.phone.sms.optOuts.isOptedOut("+14155550100")).toBeDefined()
  })
})
