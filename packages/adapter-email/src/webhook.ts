import { createHmac, timingSafeEqual } from "node:crypto"

/** Header carrying `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw mail>">`. */
export const signatureHeader = "x-dialogi-signature"

/** How old a signed delivery may be before it counts as a replay (5 minutes, like Stripe's). */
export const signatureToleranceSeconds = 300

/**
 * Signs raw mail for `handleWebhook`, the way an MTA pipe script or a relay would: over the
 * timestamp and the exact bytes, so neither can be changed or replayed later.
 */
export const signRawMail = (
  secret: string,
  raw: Uint8Array,
  nowSeconds = Math.floor(Date.now() / 1000)
): string => {
  const mac = createHmac("sha256", secret).update(`${nowSeconds}.`).update(raw).digest("hex")
  return `t=${nowSeconds},v1=${mac}`
}

/** Whether a signature header is valid for these bytes now (constant-time compare). */
export const verifyRawMail = (
  secret: string,
  raw: Uint8Array,
  header: string | null,
  nowSeconds = Math.floor(Date.now() / 1000)
): boolean => {
  if (header === null) return false
  const fields = Object.fromEntries(
    header.split(",").map((kv) => {
      const i = kv.indexOf("=")
      return [kv.slice(0, i).trim(), kv.slice(i + 1).trim()]
    })
  )
  const t = Number(fields.t)
  const given = fields.v1
  if (!Number.isInteger(t) || typeof given !== "string" || !/^[0-9a-f]{64}$/.test(given)) return false
  if (Math.abs(nowSeconds - t) > signatureToleranceSeconds) return false
  const expected = createHmac("sha256", secret).update(`${t}.`).update(raw).digest()
  return timingSafeEqual(expected, Buffer.from(given, "hex"))
}
