import type { ChannelCapabilities } from "@dialogi/core"
import { humanAgentWindowSeconds, standardWindowSeconds } from "./replyWindow.js"
import { maxTextLength } from "./send.js"

/**
 * What Messenger carries. The reply window is 24 h, or 7 days when any page of the app holds
 * the Human Agent permission: core refuses at `replyWindowSeconds` before asking the adapter,
 * so the window must be the longest any page allows; `checkReply` then applies the page's own
 * limit (24 h for pages without the permission).
 */
export const messengerCapabilities = (anyHumanAgent: boolean): ChannelCapabilities => ({
  text: true,
  html: false,
  attachments: true,
  typing: true,
  readReceipts: true,
  deliveryReceipts: true,
  maxTextLength,
  replyWindowSeconds: anyHumanAgent ? humanAgentWindowSeconds : standardWindowSeconds,
  // Messenger forbids writing first: a PSID exists only after the person wrote to the page.
  canInitiate: false
})
