import { timingSafeEqual } from "node:crypto"
import { Effect, Either, Schema } from "effect"
import { signPayload, webhookHeaderNames } from "./signature.js"
import { WebhookPayload } from "./WebhookPayload.js"
import { secretKey } from "./WebhookSecret.js"

/** Why a delivery was not accepted; nothing in it should be trusted or acted on. */
export class WebhookVerificationError extends Schema.TaggedError<WebhookVerificationError>(
  "@dialogi/webhooks/WebhookVerificationError"
)("WebhookVerificationError", {
  reason: Schema.Literal(
    "invalid_secret",
    "missing_headers",
    "invalid_timestamp",
    "timestamp_out_of_tolerance",
    "no_matching_signature",
    "invalid_payload"
  ),
  message: Schema.String
}) {}

/** Request headers as fetch (`Headers`) or node:http (`req.headers`) give them. */
export type WebhookHeaders =
  | { readonly get: (name: string) => string | null }
  | Readonly<Record<string, string | ReadonlyArray<string> | undefined>>

/** Options of {@link verifyWebhook}. */
export interface VerifyWebhookOptions {
  /** Largest accepted difference between the delivery's timestamp and now; default 300 s. */
  readonly toleranceSeconds?: number | undefined
  /** The receiver's clock; default `new Date()`. */
  readonly now?: (() => Date) | undefined
}

/** A delivery that passed verification. */
export interface VerifiedWebhook {
  /** `webhook-id`: the same on every attempt and replay of one event; dedupe on it. */
  readonly id: string
  readonly timestamp: Date
  readonly payload: WebhookPayload
}

const header = (headers: WebhookHeaders, name: string): string | undefined => {
  if (typeof headers.get === "function")
    return (headers.get as (n: string) => string | null)(name) ?? undefined
  const value = (headers as Readonly<Record<string, string | ReadonlyArray<string> | undefined>>)[name]
  return typeof value === "string" ? value : value?.[0]
}

const fail = (reason: WebhookVerificationError["reason"], message: string) =>
  Either.left(new WebhookVerificationError({ reason, message: `[dialogi/webhooks] ${message}` }))

const decodePayload = Schema.decodeUnknownEither(Schema.parseJson(WebhookPayload))

/**
 * Verifies a delivery per the Standard Webhooks scheme, as an `Either`. See {@link verifyWebhook}.
 */
export const verifyWebhookEither = (
  secrets: string | ReadonlyArray<string>,
  headers: WebhookHeaders,
  body: string | Uint8Array,
  options: VerifyWebhookOptions = {}
): Either.Either<VerifiedWebhook, WebhookVerificationError> => {
  const keys = (typeof secrets === "string" ? [secrets] : secrets).map(secretKey)
  if (keys.length === 0 || keys.some((key) => key === undefined))
    return fail("invalid_secret", "every secret must be whsec_ followed by the base64 of 24 to 64 bytes")
  const id = header(headers, webhookHeaderNames.id)
  const timestamp = header(headers, webhookHeaderNames.timestamp)
  const signatures = header(headers, webhookHeaderNames.signature)
  if (!id || !timestamp || !signatures)
    return fail("missing_headers", "webhook-id, webhook-timestamp and webhook-signature are required")
  if (!/^\d{1,12}$/.test(timestamp)) return fail("invalid_timestamp", "webhook-timestamp is not unix seconds")
  const seconds = Number(timestamp)
  const now = (options.now?.() ?? new Date()).getTime() / 1000
  // Checked before the signature: a captured delivery replayed later must fail even if genuine.
  if (Math.abs(now - seconds) > (options.toleranceSeconds ?? 300))
    return fail("timestamp_out_of_tolerance", "webhook-timestamp is too far from now")
  const given = signatures
    .split(" ")
    .filter((s) => s.startsWith("v1,"))
    .map((s) => Buffer.from(s.slice(3)))
  const matches = keys.some((key) => {
    const expected = Buffer.from(signPayload(key!, id, seconds, body))
    return given.some((g) => g.length === expected.length && timingSafeEqual(g, expected))
  })
  if (!matches) return fail("no_matching_signature", "no signature matches any of the secrets")
  const payload = decodePayload(typeof body === "string" ? body : Buffer.from(body).toString("utf8"))
  if (Either.isLeft(payload)) return fail("invalid_payload", "the body is not a dialogi webhook payload")
  return Either.right({ id, timestamp: new Date(seconds * 1000), payload: payload.right })
}

/**
 * Verifies a delivery on the receiving side and returns its payload; throws
 * {@link WebhookVerificationError} otherwise. Pass the raw body exactly as received (before
 * any JSON parsing) and every secret currently valid: during a rotation both the new and the
 * old one, so deliveries signed with either pass.
 *
 * ```ts
 * const { id, payload } = verifyWebhook(process.env.WEBHOOK_SECRET!, request.headers, await request.text())
 * ```
 */
export const verifyWebhook = (
  secrets: string | ReadonlyArray<string>,
  headers: WebhookHeaders,
  body: string | Uint8Array,
  options?: VerifyWebhookOptions
): VerifiedWebhook =>
  Either.getOrThrowWith(verifyWebhookEither(secrets, headers, body, options), (error) => error)

/** {@link verifyWebhook} as an Effect that fails with {@link WebhookVerificationError}. */
export const verifyWebhookEffect = (
  secrets: string | ReadonlyArray<string>,
  headers: WebhookHeaders,
  body: string | Uint8Array,
  options?: VerifyWebhookOptions
): Effect.Effect<VerifiedWebhook, WebhookVerificationError> =>
  Effect.suspend(() => verifyWebhookEither(secrets, headers, body, options))

/**
 * {@link verifyWebhook} for a fetch-style `Request` (Hono, Next.js route handlers, Deno, Bun,
 * dialogi's own webhook handlers): reads the raw body once and verifies it.
 */
export const verifyWebhookRequest = async (
  secrets: string | ReadonlyArray<string>,
  request: Request,
  options?: VerifyWebhookOptions
): Promise<VerifiedWebhook> =>
  verifyWebhook(secrets, request.headers, new Uint8Array(await request.arrayBuffer()), options)
