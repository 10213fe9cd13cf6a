import type { AttachmentRef } from "@dialogi/core"
import { SendFailed } from "@dialogi/core"
import type { AttachmentReader, ResolvedConfig, ResolvedPage } from "./config.js"
import { toSendFailed } from "./errorCodes.js"
import { callGraph, GraphUnreachable } from "./graphClient.js"
import type { AttachmentKind } from "./send.js"

/** The largest attachment Meta accepts (Messenger Platform, Send API limits): 25 MB. */
export const maxAttachmentBytes = 25 * 1024 * 1024

/**
 * Uploads one file through the Attachment Upload API (`POST /{version}/me/message_attachments`,
 * multipart: `message` with the attachment type, `filedata` with the bytes and their MIME type)
 * and returns Meta's `attachment_id`, which the Send API then takes in `payload.attachment_id`.
 * Not reusable: the file belongs to this one message.
 */
export const uploadAttachment = async (
  config: ResolvedConfig,
  reader: AttachmentReader,
  page: ResolvedPage,
  type: AttachmentKind,
  attachment: AttachmentRef
): Promise<string> => {
  const { channel } = config
  const fail = (reason: string, code: string, retryable = false) =>
    new SendFailed({ channel, reason: `[dialogi/${channel}] ${reason}`, retryable, code })
  const bytes = await reader.get(attachment.ref).catch((error) => {
    throw fail(`attachment "${attachment.ref}" could not be read: ${String(error)}`, "attachment_read", true)
  })
  if (bytes === undefined) throw fail(`attachment "${attachment.ref}" not found`, "attachment_missing")
  if (bytes.byteLength > maxAttachmentBytes)
    throw fail(
      `attachment "${attachment.ref}" is ${bytes.byteLength} bytes; Meta takes at most ${maxAttachmentBytes}`,
      "attachment_too_large"
    )
  const form = new FormData()
  form.append("message", JSON.stringify({ attachment: { type, payload: { is_reusable: false } } }))
  form.append(
    "filedata",
    // A copy: Blob takes only ArrayBuffer-backed views, and a reader may hand out a shared buffer.
    new Blob([new Uint8Array(bytes)], { type: attachment.contentType }),
    attachment.filename ?? `attachment.${type === "file" ? "bin" : type}`
  )
  const response = await callGraph(
    config,
    page.pageAccessToken,
    "POST",
    "me/message_attachments",
    form
  ).catch((error) => {
    throw error instanceof GraphUnreachable ? fail(error.message, "network", true) : error
  })
  if (!response.ok) throw toSendFailed(channel, response.status, response.error)
  const id = response.body.attachment_id
  if (typeof id !== "string" && typeof id !== "number")
    throw fail("Attachment Upload API answered without an attachment_id", "no_attachment_id", true)
  return String(id)
}
