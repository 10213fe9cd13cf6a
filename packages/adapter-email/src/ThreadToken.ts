import { createHmac, timingSafeEqual } from "node:crypto"

// Lower-case Crockford base32 like core's ids: some MTAs lower-case the local part of an
// address, so a reply token must survive that.
const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
const macChars = 16 // 80 bits: far beyond guessing, short enough for a 64-char local part

const base32 = (bytes: Uint8Array, length: number): string => {
  let out = ""
  let buffer = 0
  let bits = 0
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte
    bits += 8
    while (bits >= 5 && out.length < length) {
      out += alphabet[(buffer >>> (bits - 5)) & 31]
      bits -= 5
    }
    buffer &= (1 << bits) - 1
  }
  return out
}

/** What a token is for; part of the signed data so a token of one kind never passes as another. */
export type TokenPurpose = "reply-address" | "message-id" | "body-marker"

/**
 * Signs and verifies the tokens we put into outbound mail. Every token is bound to the
 * conversation AND to the recipient's address: a customer who forwards our mail hands the
 * token to someone else, and that someone must not join (or read) the original thread.
 */
export interface ThreadSigner {
  readonly sign: (purpose: TokenPurpose, fields: ReadonlyArray<string>) => string
  readonly verify: (purpose: TokenPurpose, fields: ReadonlyArray<string>, mac: string) => boolean
}

/**
 * A signer over one or more secrets: the first signs, all verify, so a secret can be rotated
 * without orphaning the replies to mail sent before the rotation.
 */
export const makeThreadSigner = (secrets: string | ReadonlyArray<string>): ThreadSigner => {
  const keys = (typeof secrets === "string" ? [secrets] : [...secrets]).filter((s) => s.length > 0)
  if (keys.length === 0) throw new Error("[dialogi/email] threading secret must not be empty")
  const mac = (key: string, purpose: TokenPurpose, fields: ReadonlyArray<string>) =>
    base32(
      createHmac("sha256", key)
        .update([purpose, ...fields].join("\u0000"))
        .digest(),
      macChars
    )
  return {
    sign: (purpose, fields) => mac(keys[0]!, purpose, fields),
    verify: (purpose, fields, given) => {
      const candidate = Buffer.from(given.toLowerCase())
      if (candidate.length !== macChars) return false
      return keys.some((key) => timingSafeEqual(Buffer.from(mac(key, purpose, fields)), candidate))
    }
  }
}

const idPattern = "[a-z0-9_-]{1,64}"
const macPattern = `[0-9a-z]{${macChars}}`

/** Whether a core id can be carried in our tokens (dots and @ would break the formats). */
export const isTokenSafeId = (id: string): boolean => new RegExp(`^${idPattern}$`).test(id)

/** Our outbound Message-ID (without angle brackets): message, conversation, recipient-bound mac. */
export const formatMessageId = (
  signer: ThreadSigner,
  fields: { messageId: string; conversationId: string; recipient: string; domain: string }
): string => {
  const mac = signer.sign("message-id", [fields.messageId, fields.conversationId, fields.recipient])
  return `dlg.${fields.messageId}.${fields.conversationId}.${mac}@${fields.domain}`
}

/** The parts of one of our Message-IDs, unverified; undefined when the id is not ours. */
export const parseMessageId = (
  id: string
): { messageId: string; conversationId: string; mac: string } | undefined => {
  const m = new RegExp(`^dlg\\.(${idPattern})\\.(${idPattern})\\.(${macPattern})@`, "i").exec(id)
  return m ? { messageId: m[1]!, conversationId: m[2]!, mac: m[3]! } : undefined
}

/** A Reply-To address that carries a signed conversation token as a plus tag. */
export const formatReplyAddress = (
  signer: ThreadSigner,
  fields: { mailbox: string; conversationId: string; recipient: string }
): string | undefined => {
  const at = fields.mailbox.lastIndexOf("@")
  const local = fields.mailbox.slice(0, at)
  const mac = signer.sign("reply-address", [fields.conversationId, fields.recipient])
  const tagged = `${local}+${fields.conversationId}.${mac}`
  // RFC 5321 4.5.3.1.1: a local part longer than 64 octets may be refused by relays.
  return tagged.length <= 64 ? `${tagged}${fields.mailbox.slice(at)}` : undefined
}

/** The token in a plus-tagged address of one of our mailboxes, unverified. */
export const parseReplyAddress = (
  address: string,
  mailboxes: ReadonlyArray<string>
): { conversationId: string; mac: string } | undefined => {
  const m = new RegExp(`^(.+)\\+(${idPattern})\\.(${macPattern})@(.+)$`, "i").exec(address.trim())
  if (!m) return undefined
  const base = `${m[1]}@${m[4]}`.toLowerCase()
  // Core ids are lower-case by construction; an MTA may have changed the case of the local part.
  return mailboxes.some((mb) => mb.toLowerCase() === base)
    ? { conversationId: m[2]!.toLowerCase(), mac: m[3]! }
    : undefined
}

/** The hidden marker text: a fallback for providers that rewrite our Message-ID. */
export const formatBodyMarker = (
  signer: ThreadSigner,
  fields: { conversationId: string; recipient: string }
) => `[ref:${fields.conversationId}.${signer.sign("body-marker", [fields.conversationId, fields.recipient])}]`

/** Every body marker found in a text, unverified, in order of appearance. */
export const findBodyMarkers = (text: string): Array<{ conversationId: string; mac: string }> =>
  [...text.matchAll(new RegExp(`\\[ref:(${idPattern})\\.(${macPattern})\\]`, "gi"))].map((m) => ({
    conversationId: m[1]!.toLowerCase(),
    mac: m[2]!
  }))

/**
 * The text without our body markers: they are for threading, not for reading, and a forward
 * from a customer carries them in plain sight.
 */
export const stripBodyMarkers = (text: string): string =>
  text
    .replace(new RegExp(`[ \\t]*\\[ref:${idPattern}\\.${macPattern}\\][ \\t]*`, "gi"), "")
    .replace(/\n{3,}/g, "\n\n")
    .trim()
