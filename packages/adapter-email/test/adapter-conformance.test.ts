import { adapterSuite } from "@dialogi/core/testing"
import { afterAll } from "vitest"
import { createEmailAdapter, memoryAttachmentStore } from "../src/index.js"
import { customerMail, plainSmtp, rawMailRequest, startSmtpRecorder } from "./emailTestKit.js"

const smtp = await startSmtpRecorder()
afterAll(() => smtp.close())

const webhookSecret = "whsec-test-0123456789"

// Email has no provider webhook: the conformance "webhook" is the signed raw-mail endpoint an
// MTA pipe (or an inbound-mail relay) posts message/rfc822 to; IMAP feeds the same ingestRaw.
adapterSuite("email", {
  makeAdapter: () =>
    createEmailAdapter({
      address: "support@example.com",
      threadingSecret: "thread-secret-test",
      webhookSecret,
      smtp: plainSmtp(smtp.port),
      attachments: { store: memoryAttachmentStore() }
    }),
  inboundRequest: (_adapter, providerId) =>
    rawMailRequest(webhookSecret, customerMail({ messageId: `${providerId}@customer.example` })),
  forgedRequest: (_adapter, providerId) =>
    rawMailRequest("not-the-secret", customerMail({ messageId: `${providerId}@customer.example` })),
  recipient: "anna@customer.example",
  failNextSend: (_adapter, retryable) => {
    smtp.faults.push(
      retryable
        ? { code: 451, message: "4.3.0 Mailbox temporarily unavailable, try again later" }
        : { code: 550, message: "5.1.1 No such user here" }
    )
  }
})
