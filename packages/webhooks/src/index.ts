export * from "./createWebhooks.js"
export { webhookQueue } from "./deliveryChain.js"
export * from "./errors.js"
export { type SubscriptionInput, subscribesTo } from "./Subscription.js"
export { signWebhook, webhookHeaderNames } from "./signature.js"
export {
  type VerifiedWebhook,
  type VerifyWebhookOptions,
  verifyWebhook,
  verifyWebhookEffect,
  verifyWebhookEither,
  verifyWebhookRequest,
  type WebhookHeaders,
  WebhookVerificationError
} from "./verifyWebhook.js"
export { WebhookPayload, webhookIdOf } from "./WebhookPayload.js"
export { generateWebhookSecret, WebhookSecret } from "./WebhookSecret.js"
export type {
  DeadDelivery,
  ReplayRange,
  ReplayStarted,
  SubscriptionStatus,
  WebhooksOptions,
  WebhooksService
} from "./Webhooks.js"
export * as Webhooks from "./Webhooks.js"
