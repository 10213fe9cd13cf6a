import { randomBytes } from "node:crypto"
import { Schema } from "effect"

const prefix = "whsec_"
// Standard Webhooks secrets carry 24 to 64 random bytes; fewer would make HMAC guessable.
const minBytes = 24
const maxBytes = 64
const base64 = /^[A-Za-z0-9+/]+={0,2}$/

/** The HMAC key of a secret, or undefined when it is not `whsec_` + base64 of 24-64 bytes. */
export const secretKey = (secret: string): Buffer | undefined => {
  if (!secret.startsWith(prefix)) return undefined
  const encoded = secret.slice(prefix.length)
  if (!base64.test(encoded) || encoded.length % 4 !== 0) return undefined
  const key = Buffer.from(encoded, "base64")
  return key.length >= minBytes && key.length <= maxBytes ? key : undefined
}

/**
 * A signing secret in the Standard Webhooks format: `whsec_` followed by the base64 of 24 to
 * 64 random bytes. The same string is configured on the sending side (a subscription) and on
 * the receiving side ({@link verifyWebhook}).
 */
export const WebhookSecret = Schema.String.pipe(
  Schema.filter((s) => secretKey(s) !== undefined, {
    identifier: "WebhookSecret",
    // A custom message replaces the default one, which would print the value: a secret.
    message: () => "a webhook secret is whsec_ followed by the base64 of 24 to 64 bytes"
  })
)

/** A new random secret (32 bytes), e.g. for a new subscription or a rotation. */
export const generateWebhookSecret = (): string => `${prefix}${randomBytes(32).toString("base64")}`
