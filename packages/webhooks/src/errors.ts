import { Schema } from "effect"

/** Options or a request did not match its Schema; nothing was changed. */
export class InvalidWebhookInput extends Schema.TaggedError<InvalidWebhookInput>(
  "@dialogi/webhooks/InvalidWebhookInput"
)("InvalidWebhookInput", { what: Schema.String, message: Schema.String }) {}

/** No subscription with this id is configured. */
export class UnknownSubscription extends Schema.TaggedError<UnknownSubscription>(
  "@dialogi/webhooks/UnknownSubscription"
)("UnknownSubscription", { subscriptionId: Schema.String }) {
  override get message(): string {
    return `[dialogi/webhooks] no subscription "${this.subscriptionId}"`
  }
}
