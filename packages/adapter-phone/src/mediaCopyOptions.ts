import type { AttachmentStore } from "./AttachmentStore.js"
import type { PhoneAdapterConfig } from "./config.js"
import type { MediaCopyOptions } from "./mediaCopy.js"

// Internal (not re-exported from index): SMS media and voice recordings copy with the same limits.
/** The copy options of one channel, with the config's limits or their defaults. */
export const mediaCopyOptions = (
  config: PhoneAdapterConfig,
  channel: string,
  store: AttachmentStore
): MediaCopyOptions => ({
  channel,
  accountSid: config.accountSid,
  authToken: config.authToken,
  store,
  maxBytes: config.attachments?.maxBytes ?? 5 * 1024 * 1024,
  timeoutMs: config.attachments?.timeoutMs ?? 8_000,
  apiBaseUrl: config.apiBaseUrl
})
