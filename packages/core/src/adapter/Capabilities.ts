import { Schema } from "effect"

/**
 * What a channel can carry, declared as data so that the hub can check a reply before it is
 * queued instead of discovering a limit in a provider error later.
 */
export const ChannelCapabilities = Schema.Struct({
  text: Schema.Boolean,
  html: Schema.Boolean,
  attachments: Schema.Boolean,
  typing: Schema.Boolean,
  readReceipts: Schema.Boolean,
  deliveryReceipts: Schema.Boolean,
  /** Longest text a single outbound message may have, in characters; absent = unlimited. */
  maxTextLength: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.positive())),
  /**
   * How long after the customer's last inbound message the business may still write
   * (Messenger: 24 h). Absent = no window.
   */
  replyWindowSeconds: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.positive())),
  /** Whether the channel can start a conversation with no prior inbound message. */
  canInitiate: Schema.Boolean
})
/** @see ChannelCapabilities */
export type ChannelCapabilities = typeof ChannelCapabilities.Type
