import { DialogiEvent } from "@dialogi/core"
import { Schema } from "effect"

/** The `webhook-id` of an event: stable across retries and replays, so receivers dedupe on it. */
export const webhookIdOf = (seq: number): string => `evt_${seq}`

/** The event sequence number a `webhook-id` names, or undefined when it is not one of ours. */
export const seqOfWebhookId = (id: string): number | undefined => {
  const match = /^evt_([1-9]\d{0,15})$/.exec(id)
  return match ? Number(match[1]) : undefined
}

/**
 * The JSON body of every delivery, in the shape Standard Webhooks recommends: `type` (the
 * event's tag, e.g. `message.received`), `timestamp` (when the event happened, ISO 8601) and
 * `data`, the dialogi event as JSON (`seq`, `at` in epoch ms, `body`, `conversationId`,
 * `contactId`). Decode `data` with `Schema.decodeUnknown(DialogiEvent)` from `@dialogi/core`
 * for the typed event. The body is checked loosely here so that a receiver on an older
 * version still accepts event types it does not know yet.
 */
export const WebhookPayload = Schema.Struct({
  type: Schema.String,
  timestamp: Schema.String,
  data: Schema.Struct(
    {
      seq: Schema.Number,
      at: Schema.Number,
      body: Schema.Struct(
        { _tag: Schema.String },
        Schema.Record({ key: Schema.String, value: Schema.Unknown })
      ),
      conversationId: Schema.optional(Schema.String),
      contactId: Schema.optional(Schema.String)
    },
    Schema.Record({ key: Schema.String, value: Schema.Unknown })
  )
})
/** @see WebhookPayload */
export type WebhookPayload = typeof WebhookPayload.Type

// Events are instances of core's classes; core is a peer dependency, so there is one copy of them.
const encodeEvent = Schema.encodeSync(DialogiEvent)

/** The payload of an event, serialized exactly as it is signed and sent. */
export const payloadBody = (event: DialogiEvent): string =>
  JSON.stringify({ type: event.body._tag, timestamp: event.at.toISOString(), data: encodeEvent(event) })
