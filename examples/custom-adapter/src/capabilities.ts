import type { ChannelCapabilities } from "@dialogi/core"

/** The channel name inside dialogi. */
export const channel = "telegram"

/** What this adapter carries: plain text up to the Bot API's 4096 characters. */
export const telegramCapabilities: ChannelCapabilities = {
  text: true,
  html: false,
  attachments: false,
  typing: false,
  readReceipts: false,
  deliveryReceipts: false,
  maxTextLength: 4096,
  // A bot may only write to users who started it, i.e. who wrote first.
  canInitiate: false
}
