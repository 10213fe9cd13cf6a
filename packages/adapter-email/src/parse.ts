import { createHash } from "node:crypto"
import { simpleParser } from "mailparser"
import sanitizeHtml from "sanitize-html"
import { detectAutomated, type HeaderLine, headerValues } from "./automated.js"
import type { ThreadHeaders } from "./resolveThread.js"
import { stripBodyMarkers } from "./ThreadToken.js"

/** A mail that cannot be turned into a message; it is quarantined with this reason. */
export class EmailParseError extends Error {
  readonly _tag = "EmailParseError"
  constructor(reason: string) {
    super(`[dialogi/email] cannot parse mail: ${reason}`)
  }
}

/** One attachment as found in the mail; bytes still in memory, not yet stored. */
export interface ParsedAttachment {
  readonly filename: string | undefined
  readonly contentType: string
  readonly content: Uint8Array
}

/** A delivery status notification (RFC 3464) about one of the mails we sent. */
export interface Bounce {
  /** Message-ID (bare) of the mail that bounced, when the DSN carried it. */
  readonly originalMessageId: string | undefined
  readonly action: string | undefined
  readonly status: string | undefined
  readonly diagnostic: string | undefined
  readonly recipient: string | undefined
}

/** Everything the adapter needs from one mail, decoded and cleaned. */
export interface ParsedEmail {
  /** Message-ID without angle brackets, or a stable artificial one (`syntheticMessageId`). */
  readonly messageId: string
  readonly syntheticMessageId: boolean
  readonly from: { readonly address: string; readonly name: string | undefined }
  readonly subject: string
  readonly sentAt: Date
  /** The whole plain text as sent (quotes and signature included). */
  readonly fullText: string
  /** The text to show: the new part of a reply, without quotes and signature. */
  readonly displayText: string
  /** Sanitized html for display, if the mail had html. */
  readonly html: string | undefined
  /** The html exactly as sent, to keep as an attachment next to the sanitized copy. */
  readonly originalHtml: string | undefined
  readonly attachments: ReadonlyArray<ParsedAttachment>
  readonly thread: ThreadHeaders
  /** Why the mail looks machine-sent; empty for mail a person wrote. */
  readonly automated: ReadonlyArray<string>
  readonly bounce: Bounce | undefined
  /** Authentication-Results values, for deciding whether the sender address is verified. */
  readonly authenticationResults: ReadonlyArray<string>
}

/** Limits for parsing; a mail over them is quarantined instead of half-stored. */
export interface ParseOptions {
  /** Largest raw mail accepted, in bytes (default 25 MiB). */
  readonly maxMessageBytes?: number
}

// mailparser returns References as a string or an array and mangles In-Reply-To with
// comments: read the raw header lines and take every <...> token instead.
const idsIn = (values: ReadonlyArray<string>): Array<string> =>
  values.flatMap((v) => [...v.matchAll(/<([^<>\s]+)>/g)].map((m) => m[1]!))

const addressesIn = (values: ReadonlyArray<string>): Array<string> =>
  values.flatMap((v) => [...v.matchAll(/[^\s<>,;:"()]+@[^\s<>,;:"()]+/g)].map((m) => m[0]))

// The reply parser is ESM-only; a dynamic import works from both the ESM and the CJS build.
let replyParser: Promise<{ parseReply: (text: string) => string }> | undefined
const visibleText = async (text: string): Promise<string> => {
  replyParser ??= import("email-reply-parser").then((m) => new m.default())
  const parser = await replyParser
  return parser.parseReply(text).trim()
}

/**
 * What display html may contain: formatting, links and images, no scripts, forms, styles or
 * event handlers. Inline `cid:` images stay as references; remote images load only if the
 * host's inbox chooses to.
 */
const sanitizeOptions: sanitizeHtml.IOptions = {
  allowedTags: [...sanitizeHtml.defaults.allowedTags, "img", "span", "font", "center"],
  allowedAttributes: {
    a: ["href", "name", "title"],
    img: ["src", "alt", "title", "width", "height"],
    td: ["colspan", "rowspan", "align", "valign"],
    th: ["colspan", "rowspan", "align", "valign"],
    "*": ["dir", "lang"]
  },
  allowedSchemes: ["http", "https", "mailto", "tel"],
  allowedSchemesByTag: { img: ["http", "https", "cid", "data"] },
  transformTags: {
    a: sanitizeHtml.simpleTransform("a", { rel: "noopener noreferrer nofollow", target: "_blank" })
  }
}

/** Sanitizes mail html for display. Run once at ingest; stored html is never sanitized again. */
export const sanitizeMailHtml = (html: string): string => sanitizeHtml(html, sanitizeOptions)

const bounceFrom = (text: string, attachments: ReadonlyArray<ParsedAttachment>): Bounce => {
  const field = (name: string) => new RegExp(`^${name}:\\s*(.+)$`, "im").exec(text)?.[1]?.trim()
  const original = attachments.find((a) => /^(message\/rfc822|text\/rfc822-headers)/i.test(a.contentType))
  const originalHeaders = original
    ? Buffer.from(original.content)
        .toString("latin1")
        .split(/\r?\n\r?\n/)[0]!
    : ""
  const originalMessageId = /^message-id:\s*<([^<>\s]+)>/im.exec(originalHeaders)?.[1]
  const recipient = field("Final-Recipient")?.replace(/^rfc822;\s*/i, "")
  return {
    originalMessageId,
    action: field("Action")?.toLowerCase(),
    status: field("Status"),
    diagnostic: field("Diagnostic-Code")?.replace(/^smtp;\s*/i, ""),
    recipient
  }
}

/**
 * Parses one raw RFC 5322 mail. Throws {@link EmailParseError} for mail that cannot become a
 * message (too large, no sender); mailparser itself is lenient with broken MIME and charsets.
 */
export const parseEmail = async (raw: Uint8Array, options: ParseOptions = {}): Promise<ParsedEmail> => {
  const max = options.maxMessageBytes ?? 25 * 1024 * 1024
  if (raw.byteLength > max) throw new EmailParseError(`mail of ${raw.byteLength} bytes exceeds ${max}`)
  const source = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength)
  const mail = await simpleParser(source, { keepCidLinks: true, skipTextToHtml: true }).catch(
    (e: unknown) => {
      throw new EmailParseError(e instanceof Error ? e.message : String(e))
    }
  )
  const lines: ReadonlyArray<HeaderLine> = mail.headerLines
  const from = mail.from?.value.find((a) => a.address)
  if (!from?.address) throw new EmailParseError("no From address")
  const fromAddress = from.address.trim()
  const contentType = headerValues(lines, "content-type")[0]
  const attachments: Array<ParsedAttachment> = mail.attachments.map((a) => ({
    filename: a.filename,
    contentType: a.contentType,
    content: new Uint8Array(a.content)
  }))
  const fullText = (mail.text ?? "").replace(/\r\n/g, "\n")
  const originalHtml = typeof mail.html === "string" ? mail.html : undefined
  const html = originalHtml !== undefined ? sanitizeMailHtml(originalHtml) : undefined
  const displayText =
    fullText.length > 0 ? stripBodyMarkers(await visibleText(fullText).catch(() => fullText.trim())) : ""
  const subject = mail.subject ?? ""
  const sentAt = mail.date && !Number.isNaN(mail.date.getTime()) ? mail.date : new Date(0)
  const messageIds = idsIn(headerValues(lines, "message-id"))
  // A mail without Message-ID still needs one stable dedupe key: the same mail fetched again
  // (after a UIDVALIDITY reset, or from a second mailbox) must hash to the same id.
  const synthetic =
    messageIds[0] === undefined
      ? `dlg-hash.${createHash("sha256")
          .update(
            [
              fromAddress.toLowerCase(),
              headerValues(lines, "date")[0] ?? "",
              subject,
              fullText,
              originalHtml ?? ""
            ].join("\u0000")
          )
          .digest("hex")
          .slice(0, 32)}@missing-message-id.invalid`
      : undefined
  const isReport = contentType?.toLowerCase().startsWith("multipart/report") ?? false
  return {
    messageId: synthetic ?? messageIds[0]!,
    syntheticMessageId: synthetic !== undefined,
    from: { address: fromAddress, name: from.name || undefined },
    subject,
    sentAt,
    fullText,
    displayText,
    html,
    originalHtml,
    attachments,
    thread: {
      inReplyTo: idsIn(headerValues(lines, "in-reply-to")),
      references: idsIn(headerValues(lines, "references")),
      recipients: addressesIn([
        ...headerValues(lines, "to"),
        ...headerValues(lines, "cc"),
        ...headerValues(lines, "delivered-to"),
        ...headerValues(lines, "x-original-to")
      ])
    },
    automated: detectAutomated(lines, fromAddress, contentType),
    bounce:
      isReport && /report-type=["']?delivery-status/i.test(contentType ?? "")
        ? bounceFrom(fullText, attachments)
        : undefined,
    authenticationResults: headerValues(lines, "authentication-results")
  }
}
