import { Schema } from "effect"
import { WebhookSecret } from "./WebhookSecret.js"

/** An event type (`message.received`), a family (`conversation.*`) or everything (`*`). */
export const EventTypePattern = Schema.String.pipe(
  Schema.pattern(/^(\*|[a-z][a-z_]*(\.[a-z][a-z_]*)*(\.\*)?)$/, {
    message: () => "an event type is like message.received, conversation.* or *"
  })
)

const isHttpUrl = (value: string): boolean => {
  try {
    const url = new URL(value)
    return url.protocol === "https:" || url.protocol === "http:"
  } catch {
    return false
  }
}

/**
 * Where and what to deliver. The id names the subscription's durable cursor: keep it stable
 * across restarts and deploys (changing it starts a new subscription from `startAt`).
 */
export const Subscription = Schema.Struct({
  id: Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9_-]{1,64}$/)),
  url: Schema.String.pipe(Schema.filter(isHttpUrl, { message: () => "url must be an http(s) URL" })),
  /**
   * One secret, or two while rotating: every delivery is signed with each, so receivers that
   * hold either verify. Put the new one first, then drop the old one once receivers moved.
   */
  secrets: Schema.Array(WebhookSecret).pipe(Schema.minItems(1), Schema.maxItems(2)),
  eventTypes: Schema.Array(EventTypePattern).pipe(Schema.minItems(1)),
  /**
   * Where a subscription seen for the first time starts: `now` (events after its creation,
   * the default) or `beginning` (the whole log). Ignored once it has a cursor.
   */
  startAt: Schema.optionalWith(Schema.Literal("now", "beginning"), { default: () => "now" as const })
})
/** A subscription with defaults applied. */
export type Subscription = typeof Subscription.Type
/** A subscription as a host writes it. */
export type SubscriptionInput = typeof Subscription.Encoded

/** Whether an event type is one a subscription asked for. */
export const subscribesTo = (subscription: Pick<Subscription, "eventTypes">, type: string): boolean =>
  subscription.eventTypes.some(
    (pattern) =>
      pattern === "*" || pattern === type || (pattern.endsWith(".*") && type.startsWith(pattern.slice(0, -1)))
  )
