import { Effect } from "effect"
import type { ChannelAdapter, SendReceipt } from "../adapter/ChannelAdapter.js"
import { isSendFailed } from "../adapter/SendFailed.js"
import type { EventBody } from "../domain/Event.js"
import type { MessageId } from "../domain/Ids.js"
import { canAdvance, type DeliveryStatus } from "../domain/Message.js"
import { getConversation } from "../store/rowLookups.js"
import type { Job, JobRetry, StoreService } from "../store/Store.js"
import type { AdapterRegistry } from "./AdapterRegistry.js"
import type { ResolvedHubOptions } from "./HubConfig.js"

/** The durable queue that carries outbound messages to their adapters. */
export const sendQueue = "dialogi.send"

const setStatus = (
  store: StoreService,
  messageId: MessageId,
  status: DeliveryStatus,
  providerMessageId?: string
) =>
  store.transaction((tx) =>
    Effect.gen(function* () {
      const message = yield* tx.getMessage(messageId)
      if (!message || !canAdvance(message.status, status)) return
      yield* tx.setMessageStatus(messageId, status, providerMessageId)
      const events: EventBody[] = [
        status._tag === "sent" && providerMessageId !== undefined
          ? { _tag: "message.sent", conversationId: message.conversationId, messageId, providerMessageId }
          : { _tag: "message.status", conversationId: message.conversationId, messageId, status }
      ]
      yield* tx.appendEvents(events, new Date())
    })
  )

type Attempt =
  | { readonly _tag: "sent"; readonly receipt: SendReceipt }
  | {
      readonly _tag: "failed"
      readonly reason: string
      readonly code?: string | undefined
      readonly retryable: boolean
      readonly retryAfterMs?: number | undefined
    }

const attemptSend = (adapter: ChannelAdapter, request: Parameters<ChannelAdapter["send"]>[0]) =>
  Effect.tryPromise(() => adapter.send(request)).pipe(
    Effect.map((receipt): Attempt => ({ _tag: "sent", receipt })),
    Effect.catchAll(({ error }) =>
      Effect.succeed<Attempt>(
        isSendFailed(error)
          ? {
              _tag: "failed",
              reason: error.reason,
              code: error.code,
              retryable: error.retryable,
              retryAfterMs: error.retryAfterMs
            }
          : // An adapter that throws something unexpected may have hit a network fault: retry.
            {
              _tag: "failed",
              reason: error instanceof Error ? error.message : String(error),
              retryable: true
            }
      )
    )
  )

/**
 * Handles one send job: delivers the message through its adapter, then records the outcome.
 * A permanent failure marks the message failed and ends the job; a retryable one retries with
 * backoff, and the last attempt marks the message failed before the job is dead-lettered.
 */
export const handleSendJob =
  (store: StoreService, registry: AdapterRegistry, options: ResolvedHubOptions) =>
  (job: Job): Effect.Effect<void, JobRetry> =>
    Effect.gen(function* () {
      const messageId = job.payload.messageId as MessageId
      const loaded = yield* store.read((tx) =>
        Effect.gen(function* () {
          const message = yield* tx.getMessage(messageId)
          if (!message) return undefined
          const conversation = yield* getConversation(tx, message.conversationId)
          const contact = conversation ? yield* tx.getContact(conversation.contactId) : undefined
          return { message, contact }
        })
      )
      // Already sent or failed (a replayed job, or a second worker after a crash): nothing to do.
      if (loaded?.message.status._tag !== "queued") return
      const { message, contact } = loaded
      const adapter = registry.get(message.channel)
      const address = contact?.identities.find((i) => i.channel === message.channel)?.address
      if (!adapter || address === undefined) {
        const reason = !adapter
          ? `no adapter for channel ${message.channel}`
          : `contact has no ${message.channel} identity`
        yield* setStatus(store, messageId, { _tag: "failed", reason, retryable: false })
        return
      }
      const outcome = yield* attemptSend(adapter, {
        messageId,
        conversationId: message.conversationId,
        to: address,
        parts: message.parts,
        idempotencyKey: messageId,
        attempt: job.attempt,
        metadata: {}
      })
      if (outcome._tag === "sent") {
        yield* setStatus(store, messageId, { _tag: "sent" }, outcome.receipt.providerMessageId)
        // Some channels know more at once (a chat tab that took the message: delivered).
        const reported = outcome.receipt.status
        if (reported === "delivered" || reported === "read")
          yield* setStatus(store, messageId, { _tag: reported })
        return
      }
      options.log("warn", `send of ${messageId} on ${message.channel} failed: ${outcome.reason}`, {
        attempt: job.attempt,
        retryable: outcome.retryable
      })
      if (!outcome.retryable || job.lastAttempt) {
        const reason = outcome.retryable
          ? `gave up after ${job.attempt} attempts: ${outcome.reason}`
          : outcome.reason
        yield* setStatus(store, messageId, {
          _tag: "failed",
          reason,
          code: outcome.code,
          retryable: outcome.retryable
        })
        if (!outcome.retryable) return
      }
      return yield* Effect.fail<JobRetry>({
        _tag: "JobRetry",
        reason: outcome.reason,
        delayMs: outcome.retryAfterMs
      })
    }).pipe(
      // A store outage while recording the outcome: let the queue retry the job later.
      Effect.catchTag("StoreError", (e) => Effect.fail<JobRetry>({ _tag: "JobRetry", reason: e.message }))
    )
