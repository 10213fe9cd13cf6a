import type { MessagePart, SendRequest } from "@dialogi/core"
import type { Transporter } from "nodemailer"
import type { AttachmentStore } from "./AttachmentStore.js"
import type { ThreadLedger } from "./ThreadLedger.js"
import {
  formatBodyMarker,
  formatMessageId,
  formatReplyAddress,
  isTokenSafeId,
  type ThreadSigner
} from "./ThreadToken.js"

/** A send that did not go out; `retryable` tells the hub whether to try again. */
export class EmailSendFailed extends Error {
  readonly _tag = "SendFailed"
  readonly channel: string
  readonly reason: string
  readonly retryable: boolean
  readonly code: string | undefined
  constructor(fields: { channel: string; reason: string; retryable: boolean; code?: string | undefined }) {
    super(`[dialogi/email] send failed: ${fields.reason}`)
    this.channel = fields.channel
    this.reason = fields.reason
    this.retryable = fields.retryable
    this.code = fields.code
  }
}

interface SmtpError {
  readonly code?: string
  readonly responseCode?: number
  readonly permanent?: boolean
  readonly response?: string
  readonly message?: string
}

/**
 * Maps a nodemailer error onto retryable or permanent. An SMTP reply decides by its class
 * (RFC 5321 4.2.1: 4xx transient, 5xx permanent); without a reply, connection-level failures
 * (refused, timeout, TLS, DNS) are retryable and malformed messages or addresses are not.
 */
export const classifySmtpError = (channel: string, error: unknown): EmailSendFailed => {
  const e = (typeof error === "object" && error !== null ? error : {}) as SmtpError
  const reason = (e.response ?? e.message ?? String(error)).slice(0, 500)
  if (typeof e.responseCode === "number") {
    const retryable = e.permanent !== undefined ? !e.permanent : e.responseCode < 500
    return new EmailSendFailed({ channel, reason, retryable, code: String(e.responseCode) })
  }
  const permanentCodes = new Set(["EENVELOPE", "EMESSAGE", "ESTREAM", "EAUTH", "ENOAUTH", "EOAUTH2"])
  return new EmailSendFailed({ channel, reason, retryable: !permanentCodes.has(e.code ?? ""), code: e.code })
}

/** What composing and sending a reply needs. */
export interface SendDeps {
  readonly channel: string
  readonly transport: Transporter
  readonly signer: ThreadSigner
  readonly address: string
  readonly fromName: string | undefined
  readonly messageIdDomain: string
  readonly ledger: ThreadLedger
  readonly attachments: AttachmentStore
  readonly defaultSubject: string
}

const plainAddress = /^[^\s@<>(),;:"\\[\]]+@[^\s@<>(),;:"\\[\]]+\.[^\s@<>(),;:"\\[\]]+$/

const replySubject = (subject: string) =>
  /^\s*(re|aw|sv|vs)\s*:/i.test(subject) ? subject : `Re: ${subject}`

const escapeHtml = (s: string) =>
  s.replace(/[&<>"]/g, (c) => `&${{ "&": "amp", "<": "lt", ">": "gt", '"': "quot" }[c]};`)

/**
 * Sends one reply. The Message-ID is derived from the hub's message id and signed, so a retry
 * after a timeout goes out under the same id (the customer's mail program shows one mail) and
 * a reply to it threads back. In-Reply-To/References come from the conversation's own mail.
 */
export const sendEmail = async (
  deps: SendDeps,
  request: SendRequest
): Promise<{ providerMessageId: string }> => {
  const fail = (reason: string, retryable = false) =>
    new EmailSendFailed({ channel: deps.channel, reason, retryable })
  const to = request.to.trim().toLowerCase()
  // Never a header value from input unchecked: the address goes into To, and the ids into tokens.
  if (!plainAddress.test(to)) throw fail(`not a deliverable address: ${JSON.stringify(request.to)}`)
  if (!isTokenSafeId(request.messageId) || !isTokenSafeId(request.conversationId))
    throw fail("message or conversation id cannot be carried in a Message-ID")
  const thread = await deps.ledger.get(request.conversationId)
  const messageId = formatMessageId(deps.signer, {
    messageId: request.messageId,
    conversationId: request.conversationId,
    recipient: to,
    domain: deps.messageIdDomain
  })
  const replyTo = formatReplyAddress(deps.signer, {
    mailbox: deps.address,
    conversationId: request.conversationId,
    recipient: to
  })
  const marker = formatBodyMarker(deps.signer, { conversationId: request.conversationId, recipient: to })
  const texts = request.parts.filter((p): p is Extract<MessagePart, { _tag: "text" }> => p._tag === "text")
  const htmls = request.parts.filter((p): p is Extract<MessagePart, { _tag: "html" }> => p._tag === "html")
  const files = request.parts.filter(
    (p): p is Extract<MessagePart, { _tag: "attachment" }> => p._tag === "attachment"
  )
  const text = texts.map((p) => p.text).join("\n\n")
  const attachments = await Promise.all(
    files.map(async ({ attachment }) => {
      const content = await deps.attachments.get(attachment.ref)
      if (content === undefined) throw fail(`attachment ${attachment.ref} is not in the attachment store`)
      return {
        filename: attachment.filename ?? "attachment",
        contentType: attachment.contentType,
        content: Buffer.from(content)
      }
    })
  )
  const subject = thread ? replySubject(thread.subject || deps.defaultSubject) : deps.defaultSubject
  const parent = thread?.references[thread.references.length - 1]
  try {
    await deps.transport.sendMail({
      from: deps.fromName ? { name: deps.fromName, address: deps.address } : deps.address,
      to,
      subject,
      messageId: `<${messageId}>`,
      ...(replyTo !== undefined ? { replyTo } : {}),
      ...(parent !== undefined
        ? { inReplyTo: `<${parent}>`, references: thread!.references.map((id) => `<${id}>`) }
        : {}),
      // The marker is the fallback for providers that rewrite Message-ID; quoted in the reply.
      text: `${text}\n\n${marker}`,
      ...(htmls.length > 0
        ? {
            html: `${htmls.map((p) => p.html).join("\n")}<div style="display:none;font-size:0;color:transparent">${escapeHtml(marker)}</div>`
          }
        : {}),
      attachments
    })
  } catch (error) {
    throw classifySmtpError(deps.channel, error)
  }
  await deps.ledger.record(request.conversationId, messageId, subject)
  return { providerMessageId: messageId }
}
