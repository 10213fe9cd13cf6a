import type { ChannelCapabilities } from "@dialogi/core"

/** Email carries text, html and attachments, can start a conversation, and has no reply window. */
export const emailCapabilities: ChannelCapabilities = {
  text: true,
  html: true,
  attachments: true,
  typing: false,
  readReceipts: false,
  // Only bounces come back (failed); a successful delivery is never reported by SMTP.
  deliveryReceipts: false,
  canInitiate: true
}
