import { SendFailed, type SendReceipt, type SendRequest } from "@dialogi/core"
import type { ChatRuntime } from "./runtime.js"

/**
 * Delivers an agent reply to every open tab of the visitor. The message is already in the
 * store when the hub calls this, so a visitor who is away gets it from history on their next
 * hello: `sent` means kept for later, `delivered` means a socket took it. A reply kept for
 * later is handed to the offline fallback (if configured), which looks at it again later.
 */
export const sendToVisitor = async (runtime: ChatRuntime, request: SendRequest): Promise<SendReceipt> => {
  const { channel } = runtime.config
  if (runtime.blocked.has(request.to))
    throw new SendFailed({
      channel,
      reason: "the visitor is blocked on chat",
      retryable: false,
      code: "blocked"
    })
  runtime.learnConversation(request.to, request.conversationId)
  const outcomes = await runtime.pumpVisitor(request.to)
  void runtime.tellExpectedReply(request.conversationId, runtime.connectionsOf(request.to))
  const failures = outcomes.filter((o): o is PromiseRejectedResult => o.status === "rejected")
  if (outcomes.length > 0 && failures.length === outcomes.length)
    throw new SendFailed({
      channel,
      reason: `conversation history unavailable: ${String((failures[0]!.reason as Error)?.message ?? failures[0]!.reason)}`,
      retryable: true,
      code: "history_unavailable"
    })
  const delivered = outcomes.some((o) => o.status === "fulfilled" && o.value)
  const offline = runtime.config.offline
  if (!delivered && offline !== undefined) {
    try {
      await offline.schedule({ conversationId: request.conversationId, messageId: request.messageId })
    } catch (error) {
      // Retrying the send schedules the check again (keyed by the reply: once); pumping the
      // tabs again is harmless, their cursors keep them from seeing it twice.
      throw new SendFailed({
        channel,
        reason: `offline fallback not scheduled: ${String((error as Error)?.message ?? error)}`,
        retryable: true,
        code: "offline_unscheduled"
      })
    }
  }
  return { providerMessageId: request.messageId, status: delivered ? "delivered" : "sent" }
}
