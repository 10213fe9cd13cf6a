import { SendFailed } from "@dialogi/core"

/** Meta's Graph API error body: `{ "error": { message, type, code, error_subcode, fbtrace_id } }`. */
export interface GraphError {
  readonly message?: string | undefined
  readonly type?: string | undefined
  readonly code?: number | undefined
  readonly error_subcode?: number | undefined
  readonly fbtrace_id?: string | undefined
}

/** How dialogi treats one Meta error code. */
export interface ErrorRule {
  readonly retryable: boolean
  readonly reason: string
  /** Wait before the next attempt; rate limits are per page and per hour, so back off long. */
  readonly retryAfterMs?: number
}

const rateLimit = (reason: string): ErrorRule => ({ retryable: true, reason, retryAfterMs: 60_000 })

/**
 * Meta error codes (Messenger Platform "Error codes" reference and the Graph API error list),
 * keyed `code` or `code/subcode` where the subcode changes the meaning.
 */
export const errorRules: Readonly<Record<string, ErrorRule>> = {
  "1": { retryable: true, reason: "Meta reported an unknown error; retrying" },
  "2": { retryable: true, reason: "Meta service temporarily unavailable" },
  "4": rateLimit("app-level rate limit reached (code 4); backing off"),
  "17": rateLimit("user-level rate limit reached (code 17); backing off"),
  "32": rateLimit("page-level rate limit reached (code 32); backing off"),
  "613": rateLimit("Send API rate limit reached (code 613); backing off"),
  "1200": { retryable: true, reason: "temporary Send API failure (code 1200)" },
  "10": {
    retryable: false,
    reason: "outside the allowed messaging window or the page lacks the permission (code 10)"
  },
  "10/2018278": {
    retryable: false,
    reason: "outside the 24-hour messaging window; a HUMAN_AGENT tag or another channel is needed"
  },
  "190": {
    retryable: false,
    reason: "the page access token is invalid or expired (code 190); reconnect the page"
  },
  "200": { retryable: false, reason: "the app lacks the permission for this action (code 200)" },
  "230": { retryable: false, reason: "the app lacks pages_messaging permission for this page (code 230)" },
  "551": { retryable: false, reason: "this person is not available right now (blocked the page or left)" },
  "551/1545041": {
    retryable: false,
    reason: "this person is not available right now (blocked the page or left)"
  },
  "100": { retryable: false, reason: "Meta refused a parameter of the request (code 100)" },
  "100/2018001": { retryable: false, reason: "no Messenger user matches this PSID on this page" },
  "2018278": {
    retryable: false,
    reason: "outside the 24-hour messaging window; a HUMAN_AGENT tag or another channel is needed"
  }
}

/**
 * Turns a failed Graph API call into a `SendFailed`: known codes by the table, unknown codes by
 * the HTTP status (5xx retryable, 4xx permanent), so nothing unknown is retried forever.
 */
export const toSendFailed = (
  channel: string,
  httpStatus: number,
  error: GraphError | undefined
): SendFailed => {
  const code = error?.code
  const sub = error?.error_subcode
  const rule =
    (code !== undefined && sub !== undefined ? errorRules[`${code}/${sub}`] : undefined) ??
    (code !== undefined ? errorRules[String(code)] : undefined)
  const metaText = error?.message ? `: ${error.message}` : ""
  const codeText = code === undefined ? undefined : sub === undefined ? String(code) : `${code}/${sub}`
  if (rule)
    return new SendFailed({
      channel,
      reason: `[dialogi/${channel}] ${rule.reason}${metaText}`,
      retryable: rule.retryable,
      code: codeText,
      retryAfterMs: rule.retryAfterMs
    })
  const retryable = httpStatus >= 500 || httpStatus === 429
  return new SendFailed({
    channel,
    reason: `[dialogi/${channel}] Graph API answered HTTP ${httpStatus}${codeText ? ` (code ${codeText})` : ""}${metaText}`,
    retryable,
    code: codeText ?? `http_${httpStatus}`
  })
}
