import type { MessagePart } from "@dialogi/core"
import type { AttachmentStore } from "./AttachmentStore.js"

/** Why a medium stayed a reference to Twilio's URL instead of being copied. */
export interface MediaNotCopied {
  readonly index: number
  readonly reason: string
}

/** A failure worth Twilio's retry of the whole webhook (network, timeout, Twilio 5xx). */
export class MediaFetchFailed extends Error {
  override readonly name = "MediaFetchFailed"
  readonly _tag = "MediaFetchFailed"
}

/** What {@link copyInboundMedia} needs. */
export interface MediaCopyOptions {
  readonly channel: string
  readonly accountSid: string
  readonly authToken: string
  readonly store: AttachmentStore
  /** Largest medium copied; Twilio accepts MMS of up to 5 MB. */
  readonly maxBytes: number
  readonly timeoutMs: number
  /** Swaps the origin of api.twilio.com media URLs (tests, egress proxies), as for REST calls. */
  readonly apiBaseUrl?: string | undefined
}

const extensions: Readonly<Record<string, string>> = {
  "image/jpeg": "jpg",
  "image/png": "png",
  "image/gif": "gif",
  "image/webp": "webp",
  "image/heic": "heic",
  "audio/mpeg": "mp3",
  "audio/ogg": "ogg",
  "audio/amr": "amr",
  "video/mp4": "mp4",
  "video/3gpp": "3gp",
  "application/pdf": "pdf",
  "text/vcard": "vcf",
  "text/x-vcard": "vcf",
  "text/plain": "txt"
}

class TooLarge extends Error {}

/** Reads a body up to `max` bytes; beyond that it stops reading and throws TooLarge. */
const readLimited = async (response: Response, max: number): Promise<Uint8Array> => {
  const declared = Number(response.headers.get("content-length") ?? "NaN")
  if (declared > max) {
    await response.body?.cancel()
    throw new TooLarge(`${declared} bytes, more than ${max}`)
  }
  const chunks: Uint8Array[] = []
  let size = 0
  const reader = response.body?.getReader()
  if (reader)
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      size += read.value.byteLength
      if (size > max) {
        await reader.cancel().catch(() => undefined)
        throw new TooLarge(`more than ${max} bytes`)
      }
      chunks.push(read.value)
    }
  return Buffer.concat(chunks, size)
}

const sourceOf = (url: string, apiBaseUrl: string | undefined): string => {
  const parsed = new URL(url)
  if (apiBaseUrl === undefined || parsed.origin !== "https://api.twilio.com") return url
  return new URL(`${parsed.pathname}${parsed.search}`, apiBaseUrl).href
}

/** One Twilio file copied, or kept as Twilio's reference and why. */
export type MediaCopy =
  | { readonly copied: true; readonly ref: string; readonly contentType: string; readonly size: number }
  | { readonly copied: false; readonly reason: string }

/**
 * Copies one Twilio-hosted file (an MMS medium, a recording) into the attachment store. Twilio
 * serves media with the account's Basic auth (when "HTTP auth on media URLs" is on) and
 * redirects to a signed storage URL; fetch drops the Authorization header on that cross-origin
 * redirect, as the storage side requires. Too large or refused (4xx): not copied, with the
 * reason. A network failure, timeout or 5xx throws {@link MediaFetchFailed}, so the webhook
 * answers 503 and Twilio retries it.
 */
export const copyTwilioMedia = async (
  url: string,
  contentType: string,
  key: (type: string) => string,
  options: MediaCopyOptions
): Promise<MediaCopy> => {
  const authorization = `Basic ${Buffer.from(`${options.accountSid}:${options.authToken}`).toString("base64")}`
  const failed = (why: string) =>
    new MediaFetchFailed(`[dialogi/${options.channel}] ${url} not copied: ${why}`)
  let response: Response
  try {
    response = await fetch(sourceOf(url, options.apiBaseUrl), {
      headers: { authorization },
      redirect: "follow",
      signal: AbortSignal.timeout(options.timeoutMs)
    })
  } catch (error) {
    throw failed((error as Error).message)
  }
  if (response.status >= 500 || response.status === 429) {
    await response.body?.cancel()
    throw failed(`HTTP ${response.status}`)
  }
  if (!response.ok) {
    await response.body?.cancel()
    return { copied: false, reason: `HTTP ${response.status}` }
  }
  let body: Uint8Array
  try {
    body = await readLimited(response, options.maxBytes)
  } catch (error) {
    if (error instanceof TooLarge) return { copied: false, reason: `too large: ${error.message}` }
    throw failed((error as Error).message)
  }
  const type = (response.headers.get("content-type") ?? contentType).split(";")[0]!.trim() || contentType
  const stored = await options.store.put({ key: key(type), contentType: type, body })
  return { copied: true, ref: stored.ref, contentType: type, size: body.byteLength }
}

/** The file extension the store key gets for a content type. */
export const extensionOf = (contentType: string): string => extensions[contentType] ?? "bin"

/**
 * Copies every MMS medium (the attachment parts of an inbound SMS) and points each part at its
 * copy; media that stay Twilio references are listed in `notCopied`.
 */
export const copyInboundMedia = async (
  messageSid: string,
  parts: ReadonlyArray<MessagePart>,
  options: MediaCopyOptions
): Promise<{ parts: MessagePart[]; notCopied: MediaNotCopied[] }> => {
  const notCopied: MediaNotCopied[] = []
  const out: MessagePart[] = []
  const safeSid = messageSid.replace(/[^A-Za-z0-9_-]/g, "_")
  let index = -1
  for (const part of parts) {
    if (part._tag !== "attachment") {
      out.push(part)
      continue
    }
    const at = ++index
    const copy = await copyTwilioMedia(
      part.attachment.ref,
      part.attachment.contentType,
      (type) => `${safeSid}/${at}.${extensionOf(type)}`,
      options
    )
    if (!copy.copied) {
      notCopied.push({ index: at, reason: copy.reason })
      out.push(part)
      continue
    }
    out.push({
      _tag: "attachment",
      attachment: { ref: copy.ref, contentType: copy.contentType, size: copy.size }
    })
  }
  return { parts: out, notCopied }
}
