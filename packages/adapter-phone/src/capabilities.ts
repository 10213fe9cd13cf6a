import type { ChannelCapabilities } from "@dialogi/core"

/**
 * SMS/MMS: plain text and media, delivery receipts from status callbacks. 1600 characters is
 * the most Twilio accepts in one Body (error 21617); it splits longer texts into segments
 * itself, see `countSegments` for what that costs.
 */
export const smsCapabilities: ChannelCapabilities = {
  text: true,
  html: false,
  attachments: true,
  typing: false,
  readReceipts: false,
  deliveryReceipts: true,
  maxTextLength: 1600,
  canInitiate: true
}

/** Voice: inbound calls and voicemail only; replies go out by SMS. */
export const voiceCapabilities: ChannelCapabilities = {
  text: false,
  html: false,
  attachments: false,
  typing: false,
  readReceipts: false,
  deliveryReceipts: false,
  canInitiate: false
}
