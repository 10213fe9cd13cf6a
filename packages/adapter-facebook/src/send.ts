import type { AttachmentRef, MessagePart } from "@dialogi/core"
import { SendFailed } from "@dialogi/core"
import type { ResolvedConfig, ResolvedPage } from "./config.js"
import { toSendFailed } from "./errorCodes.js"
import { callGraph, GraphUnreachable } from "./graphClient.js"
import type { SendPolicy } from "./replyWindow.js"

/** The longest text Meta accepts in one message. */
export const maxTextLength = 2000

/** Prefix of the `metadata` we attach to every send; Meta returns it in the echo. */
export const ownMetadataPrefix = "dialogi:"

/** The kinds of attachment Meta's Send API takes. */
export type AttachmentKind = "image" | "video" | "audio" | "file"

/** One Send API `message` object. */
export type MetaMessage =
  | { readonly text: string; readonly metadata?: string }
  | {
      readonly attachment: {
        readonly type: AttachmentKind
        readonly payload:
          | { readonly url: string; readonly is_reusable: boolean }
          | { readonly attachment_id: string }
      }
      readonly metadata?: string
    }

/** A message to send, or an attachment still to upload before it can be sent. */
export type OutgoingMessage =
  | MetaMessage
  | { readonly upload: { readonly type: AttachmentKind; readonly attachment: AttachmentRef } }

const attachmentType = (contentType: string): AttachmentKind => {
  const major = contentType.split("/")[0]
  return major === "image" || major === "video" || major === "audio" ? major : "file"
}

const permanent = (channel: string, reason: string, code: string) =>
  new SendFailed({ channel, reason: `[dialogi/${channel}] ${reason}`, retryable: false, code })

/**
 * Turns dialogi parts into Send API messages: one per part, since Meta carries text and an
 * attachment in separate messages. Attachments with an http(s) URL go by URL (Meta fetches
 * them); any other ref is uploaded first when the adapter can read it (`uploads`).
 */
export const toMetaMessages = (
  channel: string,
  parts: ReadonlyArray<MessagePart>,
  uploads = false
): OutgoingMessage[] =>
  parts.map((part) => {
    switch (part._tag) {
      case "text":
        return { text: part.text }
      case "attachment":
      case "voice": {
        const ref = part._tag === "attachment" ? part.attachment : part.recording
        const type = part._tag === "voice" ? "audio" : attachmentType(ref.contentType)
        if (/^https?:\/\//i.test(ref.ref))
          return { attachment: { type, payload: { url: ref.ref, is_reusable: false } } }
        if (uploads) return { upload: { type, attachment: ref } }
        throw permanent(
          channel,
          `attachment "${ref.ref}" is not an http(s) URL Meta can fetch, and no attachments reader is configured to upload it`,
          "attachment_ref"
        )
      }
      default:
        throw permanent(channel, `Messenger cannot carry a ${part._tag} part`, "unsupported_part")
    }
  })

/** The request body Meta expects for one message under a send policy. */
export const sendApiBody = (
  psid: string,
  message: MetaMessage,
  policy: Exclude<SendPolicy, { _tag: "closed" }>
): Record<string, unknown> =>
  policy._tag === "human_agent"
    ? { recipient: { id: psid }, messaging_type: "MESSAGE_TAG", tag: "HUMAN_AGENT", message }
    : { recipient: { id: psid }, messaging_type: "RESPONSE", message }

const unreachable = (channel: string, error: GraphUnreachable) =>
  new SendFailed({ channel, reason: error.message, retryable: true, code: "network" })

/**
 * Sends one message through `POST /{version}/me/messages` with the page token and returns
 * Meta's `message_id` (the mid). Failures are `SendFailed`, retryable or not by Meta's code.
 */
export const sendMessage = async (
  config: ResolvedConfig,
  page: ResolvedPage,
  body: Record<string, unknown>
): Promise<string> => {
  const response = await callGraph(config, page.pageAccessToken, "POST", "me/messages", body).catch((e) => {
    throw e instanceof GraphUnreachable ? unreachable(config.channel, e) : e
  })
  if (!response.ok) throw toSendFailed(config.channel, response.status, response.error)
  const mid = response.body.message_id
  if (typeof mid !== "string" || mid.length === 0)
    throw new SendFailed({
      channel: config.channel,
      reason: `[dialogi/${config.channel}] Send API answered without a message_id`,
      retryable: true,
      code: "no_message_id"
    })
  return mid
}

/** The `sender_action` values of the Send API. */
export type SenderAction = "typing_on" | "typing_off" | "mark_seen"

/**
 * Shows or hides the typing indicator (or marks the conversation seen). A separate Send API
 * request: Meta refuses `sender_action` together with a message.
 */
export const sendSenderAction = async (
  config: ResolvedConfig,
  page: ResolvedPage,
  psid: string,
  action: SenderAction
): Promise<void> => {
  const response = await callGraph(config, page.pageAccessToken, "POST", "me/messages", {
    recipient: { id: psid },
    sender_action: action
  }).catch((e) => {
    throw e instanceof GraphUnreachable ? unreachable(config.channel, e) : e
  })
  if (!response.ok) throw toSendFailed(config.channel, response.status, response.error)
}
