import type { ChannelCapabilities } from "@dialogi/core"

/** Longest text a chat message may carry, in either direction, by default. */
export const defaultMaxTextLength = 4_000

/**
 * What web chat carries. Text only for now (attachments need an upload endpoint); typing and
 * receipts travel over the socket. Chat cannot start a conversation: the visitor has to open
 * the widget first, and a reply to someone who left is kept for their next visit.
 */
export const chatCapabilities = (maxTextLength: number): ChannelCapabilities => ({
  text: true,
  html: false,
  attachments: false,
  typing: true,
  readReceipts: true,
  deliveryReceipts: true,
  maxTextLength,
  canInitiate: false
})
