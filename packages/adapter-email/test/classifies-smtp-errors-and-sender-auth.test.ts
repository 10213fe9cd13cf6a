import { describe, expect, it } from "vitest"
import { classifySmtpError, createEmailAdapter, memoryAttachmentStore, senderVerified } from "../src/index.js"
import { freePort, plainSmtp } from "./emailTestKit.js"

describe("SMTP errors", () => {
  it("4xx replies are retryable, 5xx permanent, with the server's words as the reason", () => {
    const busy = classifySmtpError("email", { responseCode: 421, response: "421 4.7.0 Try again later" })
    expect(busy).toMatchObject({
      _tag: "SendFailed",
      retryable: true,
      code: "421",
      reason: "421 4.7.0 Try again later"
    })
    const unknown = classifySmtpError("email", {
      responseCode: 550,
      response: "550 5.1.1 User unknown",
      permanent: true
    })
    expect(unknown).toMatchObject({ retryable: false, code: "550" })
  })

  it("a refused connection is retryable, a rejected login is not", async () => {
    const port = await freePort()
    const adapter = createEmailAdapter({
      address: "support@example.com",
      threadingSecret: "s",
      smtp: plainSmtp(port),
      attachments: { store: memoryAttachmentStore() }
    })
    const error = await adapter
      .send({
        messageId: "msg_1",
        conversationId: "cv_1",
        to: "anna@customer.example",
        parts: [{ _tag: "text", text: "hi" }],
        idempotencyKey: "msg_1",
        attempt: 1,
        metadata: {}
      })
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ _tag: "SendFailed", retryable: true })
    expect(classifySmtpError("email", { code: "EAUTH", message: "Invalid login" })).toMatchObject({
      retryable: false,
      code: "EAUTH"
    })
  })

  it("refuses a recipient that would smuggle headers", async () => {
    const adapter = createEmailAdapter({
      address: "support@example.com",
      threadingSecret: "s",
      smtp: plainSmtp(1),
      attachments: { store: memoryAttachmentStore() }
    })
    const error = await adapter
      .send({
        messageId: "msg_1",
        conversationId: "cv_1",
        to: "anna@customer.example\r\nBcc: everyone@example.com",
        parts: [{ _tag: "text", text: "hi" }],
        idempotencyKey: "msg_1",
        attempt: 1,
        metadata: {}
      })
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ _tag: "SendFailed", retryable: false })
  })
})

describe("sender verification from Authentication-Results", () => {
  const trusted = ["mx.example.com"]
  it("counts DMARC or aligned DKIM passes from our own MTA", () => {
    expect(
      senderVerified(
        ["mx.example.com; dmarc=pass header.from=customer.example"],
        "anna@customer.example",
        trusted
      )
    ).toBe(true)
    expect(
      senderVerified(
        ["mx.example.com; dkim=pass header.d=customer.example"],
        "anna@customer.example",
        trusted
      )
    ).toBe(true)
  })
  it("ignores results written by anyone else, and unaligned or failed checks", () => {
    expect(
      senderVerified(
        ["evil.example; dmarc=pass header.from=customer.example"],
        "anna@customer.example",
        trusted
      )
    ).toBe(false)
    expect(
      senderVerified(["mx.example.com; dkim=pass header.d=other.example"], "anna@customer.example", trusted)
    ).toBe(false)
    expect(
      senderVerified(
        ["mx.example.com; dmarc=fail header.from=customer.example"],
        "anna@customer.example",
        trusted
      )
    ).toBe(false)
  })
})
