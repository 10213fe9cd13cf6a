import { createHmac } from "node:crypto"
import { secretKey } from "./WebhookSecret.js"

/** The headers of a Standard Webhooks delivery. */
export const webhookHeaderNames = {
  id: "webhook-id",
  timestamp: "webhook-timestamp",
  signature: "webhook-signature"
} as const

/**
 * The base64 HMAC-SHA256 of `id.timestamp.body` under a secret's key. `body` is the exact
 * request body; bytes and the string they decode to sign the same.
 */
export const signPayload = (key: Buffer, id: string, timestamp: number, body: string | Uint8Array): string =>
  createHmac("sha256", key).update(`${id}.${timestamp}.`).update(body).digest("base64")

/**
 * The three headers for one delivery attempt. With two secrets (a rotation) the signature
 * header carries both signatures, space-separated, so a receiver holding either one verifies.
 */
export const signWebhook = (
  secrets: ReadonlyArray<string>,
  id: string,
  timestamp: number,
  body: string
): Record<string, string> => {
  const signatures = secrets.map((secret) => {
    const key = secretKey(secret)
    if (!key) throw new Error("[dialogi/webhooks] invalid webhook secret")
    return `v1,${signPayload(key, id, timestamp, body)}`
  })
  return {
    [webhookHeaderNames.id]: id,
    [webhookHeaderNames.timestamp]: String(timestamp),
    [webhookHeaderNames.signature]: signatures.join(" ")
  }
}
