export { type ChatAdapter, createChatAdapter } from "./adapter.js"
export { chatCapabilities, defaultMaxTextLength } from "./capabilities.js"
export type { ChatAdapterConfig } from "./config.js"
export { type ChatExpectedReply, type HubSlaReader, hubExpectedReply } from "./expectedReply.js"
export { type ChatFanOut, type HubEventFollower, hubFanOut } from "./fanOut.js"
export { type ChatHistory, type ChatHistoryEntry, type HubEventReader, hubHistory } from "./history.js"
export { signIdentity } from "./identity.js"
export {
  type ChatOfflineFallback,
  emailIfUndelivered,
  type HubReplier,
  hubOfflineEmail,
  type OfflineEmailOptions,
  type OfflineOutcome,
  type UndeliveredReply
} from "./offlineEmail.js"
export type { OfflineJobStore, OfflineLog } from "./offlineQueue.js"
export {
  type ChatAuthor,
  type ChatErrorCode,
  ClientFrame,
  ConversationBinding,
  HostIdentity,
  protocolVersion,
  type ServerFrame
} from "./protocol.js"
export type { RateLimit } from "./rateLimit.js"
export { ChatPost, chatSignatureHeader, signChatPost } from "./webhook.js"
