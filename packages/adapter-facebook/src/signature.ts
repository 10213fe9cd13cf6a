import { createHmac, timingSafeEqual } from "node:crypto"

/** The header Meta signs webhook bodies in. */
export const signatureHeader = "x-hub-signature-256"

/**
 * Signs a body as Meta does: `sha256=` + hex HMAC-SHA256 of the raw bytes with the app secret.
 * Meta signs the bytes it sent (unicode escaped as \uXXXX), so only the raw body may be hashed,
 * never JSON re-serialized after parsing.
 */
export const signBody = (appSecret: string, body: Uint8Array | string): string =>
  `sha256=${createHmac("sha256", appSecret).update(body).digest("hex")}`

/** Whether `header` is Meta's signature of `body`; constant-time in the digest comparison. */
export const verifySignature = (appSecret: string, body: Uint8Array, header: string | null): boolean => {
  if (header === null) return false
  const match = /^sha256=([0-9a-fA-F]{64})$/.exec(header.trim())
  if (!match) return false
  const given = Buffer.from(match[1]!, "hex")
  const expected = createHmac("sha256", appSecret).update(body).digest()
  return given.length === expected.length && timingSafeEqual(given, expected)
}
