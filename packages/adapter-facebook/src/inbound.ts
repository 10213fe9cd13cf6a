import type { InboundEnvelopeInput, MessagePart, OutboundRecordInput } from "@dialogi/core"
import { formatAddress } from "./address.js"
import type { Attachment, MessageBody, MessengerEvent } from "./parse.js"
import { pageInboxAppId } from "./threadControl.js"

// Meta does not send a MIME type, only a kind; a wildcard subtype keeps the kind honest.
const contentTypes: Readonly<Record<string, string>> = {
  image: "image/*",
  video: "video/*",
  audio: "audio/*",
  file: "application/octet-stream"
}

const attachmentPart = (attachment: Attachment): MessagePart => {
  const url = attachment.payload?.url ?? attachment.url
  if (url !== undefined && attachment.type in contentTypes)
    return {
      _tag: "attachment",
      attachment: {
        ref: url,
        contentType: contentTypes[attachment.type]!,
        ...(attachment.title ? { filename: attachment.title } : {})
      }
    }
  // Templates, fallbacks, stickers, locations: keep what a person would see, with the link.
  const title = attachment.title ?? attachment.payload?.title
  const label = [`[${attachment.type}]`, title, url].filter((s) => s !== undefined && s !== "").join(" ")
  return { _tag: "text", text: label }
}

/** A Messenger message as dialogi parts: its text, then one part per attachment. */
const messageParts = (message: MessageBody): MessagePart[] => {
  const parts: MessagePart[] = []
  if (message.text !== undefined && message.text !== "") parts.push({ _tag: "text", text: message.text })
  for (const attachment of message.attachments ?? []) parts.push(attachmentPart(attachment))
  if (parts.length === 0) parts.push({ _tag: "text", text: "" })
  return parts
}

/**
 * The record of a message the page sent outside dialogi, from its echo. A Page Inbox echo
 * (or one without an app) was typed by a person, so its author is an agent; another app's
 * echo (a page bot) is a bot named by its app id.
 */
export const toOutboundRecord = (
  channel: string,
  event: Extract<MessengerEvent, { _tag: "echo" }>
): OutboundRecordInput => {
  const appId = event.message.app_id
  return {
    channel,
    to: formatAddress(event),
    providerMessageId: event.message.mid,
    parts: messageParts(event.message),
    author:
      appId === undefined || appId === pageInboxAppId
        ? { _tag: "agent", id: "messenger:page-inbox" }
        : { _tag: "bot", id: `messenger:app:${appId}` },
    sentAt: event.timestamp
  }
}

/**
 * The envelope for a customer's message or postback, or undefined for events that are not
 * messages of the customer. The PSID is verified: Meta signed the webhook naming it.
 */
export const toEnvelope = (channel: string, event: MessengerEvent): InboundEnvelopeInput | undefined => {
  if (event._tag === "message") {
    const { message } = event
    const parts = messageParts(message)
    return {
      channel,
      providerMessageId: message.mid,
      from: { address: formatAddress(event), verified: true },
      parts,
      sentAt: event.timestamp,
      ...(message.reply_to ? { threading: { inReplyTo: [message.reply_to.mid] } } : {}),
      metadata: {
        pageId: event.pageId,
        psid: event.psid,
        ...(event.standby ? { standby: true } : {}),
        ...(message.quick_reply ? { quickReplyPayload: message.quick_reply.payload } : {}),
        ...(message.referral ? { referral: message.referral } : {})
      }
    }
  }
  if (event._tag === "postback") {
    const { postback } = event
    return {
      channel,
      // Postbacks carry a mid since 2020; older payloads get a key that is stable per tap.
      providerMessageId: postback.mid ?? `postback:${event.pageId}:${event.psid}:${event.timestamp}`,
      from: { address: formatAddress(event), verified: true },
      parts: [{ _tag: "text", text: postback.title ?? postback.payload ?? "" }],
      sentAt: event.timestamp,
      metadata: {
        pageId: event.pageId,
        psid: event.psid,
        postback: true,
        ...(postback.payload !== undefined ? { postbackPayload: postback.payload } : {}),
        ...(postback.referral ? { referral: postback.referral } : {}),
        ...(event.standby ? { standby: true } : {})
      }
    }
  }
  return undefined
}
