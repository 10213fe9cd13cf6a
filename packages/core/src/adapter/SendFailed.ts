import { Schema } from "effect"

/**
 * A channel adapter could not send. `retryable` decides what happens next: retried with
 * backoff (rate limits, timeouts, 5xx) or marked failed with the provider's reason (blocked
 * user, invalid number, window closed). Adapters throw it from `send`; the hub recognises it by
 * its `_tag`, so an adapter built against another copy of core still works.
 */
export class SendFailed extends Schema.TaggedError<SendFailed>("@dialogi/SendFailed")("SendFailed", {
  channel: Schema.String,
  reason: Schema.String,
  retryable: Schema.Boolean,
  /** The provider's error code, kept for reports and support tickets. */
  code: Schema.optional(Schema.String),
  /** A provider-requested wait (Retry-After) before the next attempt. */
  retryAfterMs: Schema.optional(Schema.Number)
}) {}

/** The structural shape of {@link SendFailed}, for adapters that do not import core's class. */
export interface SendFailedLike {
  readonly _tag: "SendFailed"
  readonly reason: string
  readonly retryable: boolean
  readonly code?: string | undefined
  readonly retryAfterMs?: number | undefined
}

/** Whether an unknown thrown value is a {@link SendFailedLike}. */
export const isSendFailed = (u: unknown): u is SendFailedLike =>
  typeof u === "object" &&
  u !== null &&
  (u as { _tag?: unknown })._tag === "SendFailed" &&
  typeof (u as { retryable?: unknown }).retryable === "boolean" &&
  typeof (u as { reason?: unknown }).reason === "string"
