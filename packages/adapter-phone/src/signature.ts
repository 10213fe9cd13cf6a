import twilio from "twilio"

/** A verified, form-encoded Twilio webhook: its parameters, and the public URL it was signed for. */
export interface VerifiedTwilioRequest {
  readonly params: Readonly<Record<string, string>>
  readonly url: string
}

/**
 * The public URL Twilio called: the configured base plus the sub-route and the query of the
 * request. Only the query and the last path segment come from the request; the origin never
 * does, since behind a proxy Host is the internal name and Twilio signed the public one.
 */
export const publicUrlOf = (base: string, route: string, request: Request): string =>
  `${base.replace(/\/$/, "")}${route}${new URL(request.url).search}`

/**
 * Verifies `X-Twilio-Signature` over the public URL and the form parameters with the twilio
 * package's validator, before anything is parsed or stored. Returns undefined when the
 * signature is missing or wrong. Twilio repeats a parameter (none of the SMS/voice ones do)
 * as `a=1&a=2`; the validator sorts and concatenates every value, so repeated keys are kept.
 */
export const verifyTwilioRequest = async (
  authToken: string,
  request: Request,
  url: string
): Promise<VerifiedTwilioRequest | undefined> => {
  const signature = request.headers.get("x-twilio-signature")
  if (!signature) return undefined
  const body = await request.text()
  const contentType = request.headers.get("content-type") ?? ""
  if (contentType.includes("application/json")) {
    // JSON webhooks sign the URL (which carries bodySHA256) and the raw body's hash.
    return twilio.validateRequestWithBody(authToken, signature, url, body) ? { params: {}, url } : undefined
  }
  const params: Record<string, string | string[]> = {}
  for (const [key, value] of new URLSearchParams(body)) {
    const seen = params[key]
    params[key] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value]
  }
  if (!twilio.validateRequest(authToken, signature, url, params)) return undefined
  const flat: Record<string, string> = {}
  for (const [key, value] of Object.entries(params)) flat[key] = Array.isArray(value) ? value[0]! : value
  return { params: flat, url }
}
