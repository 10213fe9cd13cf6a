/** What a Twilio error means for the message that hit it. */
export interface TwilioErrorClass {
  readonly retryable: boolean
  readonly reason: string
  /** The recipient said STOP at Twilio's side: record the opt-out too. */
  readonly optOut?: boolean
}

// Codes from https://www.twilio.com/docs/api/errors. Permanent: retrying the same request can
// only fail the same way. Retryable: Twilio did not process it or the carrier may accept later.
const table: Readonly<Record<number, TwilioErrorClass>> = {
  20003: { retryable: false, reason: "authentication failed (check accountSid/authToken)" },
  20429: { retryable: true, reason: "too many requests" },
  20500: { retryable: true, reason: "Twilio internal error" },
  20503: { retryable: true, reason: "Twilio service unavailable" },
  21211: { retryable: false, reason: "invalid 'To' phone number" },
  21408: { retryable: false, reason: "sending to this region is not enabled" },
  21602: { retryable: false, reason: "message body is required" },
  21606: { retryable: false, reason: "the 'From' number cannot send SMS" },
  21610: { retryable: false, reason: "recipient unsubscribed (replied STOP)", optOut: true },
  21612: { retryable: false, reason: "Twilio cannot route to this number" },
  21614: { retryable: false, reason: "'To' is not a mobile number" },
  21617: { retryable: false, reason: "message body exceeds 1600 characters" },
  30001: { retryable: true, reason: "queue overflow" },
  30002: { retryable: false, reason: "account suspended" },
  30003: { retryable: false, reason: "unreachable destination handset" },
  30004: { retryable: false, reason: "message blocked by the recipient or carrier" },
  30005: { retryable: false, reason: "unknown destination handset" },
  30006: { retryable: false, reason: "landline or unreachable carrier" },
  30007: { retryable: false, reason: "message filtered by the carrier" },
  30008: { retryable: true, reason: "unknown delivery error" },
  30034: { retryable: false, reason: "sender not registered for A2P 10DLC" }
}

/**
 * Classifies a Twilio failure by its error code, falling back to the HTTP status: 429 and 5xx
 * were not processed and are safe to retry; any other 4xx will fail again.
 */
export const classifyTwilioError = (code: number | undefined, httpStatus?: number): TwilioErrorClass => {
  const known = code === undefined ? undefined : table[code]
  if (known) return known
  if (httpStatus === 429) return { retryable: true, reason: "too many requests" }
  if (httpStatus !== undefined && httpStatus >= 500)
    return { retryable: true, reason: `Twilio HTTP ${httpStatus}` }
  return {
    retryable: false,
    reason: `Twilio error ${code ?? "without code"}${httpStatus === undefined ? "" : ` (HTTP ${httpStatus})`}`
  }
}
