import { adapterSuite } from "@dialogi/core/testing"
import { afterAll } from "vitest"
import { createPhoneAdapters } from "../src/index.js"
import { fixture, makeConfig, signedRequest, smsWebhookUrl, startTwilioApi } from "./phoneTestKit.js"

const api = await startTwilioApi()
afterAll(() => api.close())

const inbound = (providerId: string) => ({
  ...fixture("inbound-sms"),
  MessageSid: `SM${providerId}`,
  SmsSid: `SM${providerId}`,
  SmsMessageSid: `SM${providerId}`
})

adapterSuite("sms", {
  makeAdapter: () => createPhoneAdapters(makeConfig(api)).sms,
  inboundRequest: (_adapter, providerId) => signedRequest(smsWebhookUrl, inbound(providerId)),
  forgedRequest: (_adapter, providerId) =>
    signedRequest(smsWebhookUrl, inbound(providerId), { signWith: "not-the-auth-token-0000000000000" }),
  recipient: "+14155552671",
  failNextSend: (_adapter, retryable) => {
    api.faults.push(
      retryable
        ? { kind: "error", status: 429, code: 20429, message: "Too Many Requests" }
        : { kind: "error", status: 400, code: 21211, message: "The 'To' number is not a valid phone number." }
    )
  }
})
