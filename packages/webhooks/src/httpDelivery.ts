import type { DialogiEvent } from "@dialogi/core"
import { Effect } from "effect"
import type { Subscription } from "./Subscription.js"
import { signWebhook } from "./signature.js"
import { payloadBody, webhookIdOf } from "./WebhookPayload.js"

/** The outcome of one HTTP attempt. */
export type DeliveryOutcome =
  | { readonly _tag: "delivered"; readonly status: number }
  | { readonly _tag: "failed"; readonly reason: string; readonly retryAfterMs?: number | undefined }

/** How deliveries go over the wire. */
export interface HttpDeliveryOptions {
  readonly timeoutMs: number
  readonly fetch: typeof globalThis.fetch
}

const maxRetryAfterMs = 3_600_000

// Retry-After is either delta-seconds or an HTTP date (RFC 9110, section 10.2.3).
const retryAfterMs = (value: string | null): number | undefined => {
  if (value === null) return undefined
  const ms = /^\d+$/.test(value.trim()) ? Number(value) * 1000 : Date.parse(value) - Date.now()
  return Number.isFinite(ms) && ms > 0 ? Math.min(ms, maxRetryAfterMs) : undefined
}

/**
 * POSTs one event to a subscription, signed for this attempt (the timestamp is part of the
 * signature, so every retry is signed anew). Any 2xx is a delivery; redirects are not
 * followed, because the signature was made for the configured URL.
 */
export const deliverEvent = (
  subscription: Subscription,
  event: DialogiEvent,
  options: HttpDeliveryOptions
): Effect.Effect<DeliveryOutcome> =>
  Effect.promise(async (): Promise<DeliveryOutcome> => {
    const body = payloadBody(event)
    const timestamp = Math.floor(Date.now() / 1000)
    try {
      const response = await options.fetch(subscription.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "user-agent": "dialogi-webhooks",
          ...signWebhook(subscription.secrets, webhookIdOf(event.seq), timestamp, body)
        },
        body,
        redirect: "manual",
        signal: AbortSignal.timeout(options.timeoutMs)
      })
      // The answer's body is not needed; reading it to the end frees the connection.
      await response.arrayBuffer().catch(() => undefined)
      if (response.status >= 200 && response.status < 300)
        return { _tag: "delivered", status: response.status }
      return {
        _tag: "failed",
        reason: `HTTP ${response.status}`,
        retryAfterMs: retryAfterMs(response.headers.get("retry-after"))
      }
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code
      return { _tag: "failed", reason: `${(error as Error).name}${cause ? ` (${cause})` : ""}` }
    }
  })
