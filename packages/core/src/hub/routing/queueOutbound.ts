import { Effect } from "effect"
import { Conversation } from "../../domain/Conversation.js"
import type { MessageId } from "../../domain/Ids.js"
import { newId } from "../../domain/Ids.js"
import { type Author, Message, type MessagePart } from "../../domain/Message.js"
import type { StoreTx } from "../../store/Store.js"
import { sendQueue } from "../sendWorker.js"

/**
 * Queues a message to the customer inside the caller's transaction, as `hub.reply` does: written
 * queued with its send job, then sent by the send worker with retries. The caller has already
 * checked `channel` with `checkReply` in the same transaction; nothing here checks it again.
 */
export const queueOutbound = (
  tx: StoreTx,
  conversation: Conversation,
  channel: string,
  parts: ReadonlyArray<MessagePart>,
  author: Author,
  now: Date
) =>
  Effect.gen(function* () {
    const message = new Message({
      id: newId("msg") as MessageId,
      conversationId: conversation.id,
      direction: "outbound",
      author,
      channel: channel as Message["channel"],
      parts,
      visibility: "public",
      status: { _tag: "queued" },
      createdAt: now,
      sentAt: now
    })
    yield* tx.insertMessages([{ message, metadata: {} }])
    yield* tx.updateConversations([new Conversation({ ...conversation, lastMessageAt: now, updatedAt: now })])
    yield* tx.enqueueJob({ queue: sendQueue, payload: { messageId: message.id }, key: message.id })
    yield* tx.appendEvents([{ _tag: "message.queued", conversationId: conversation.id, message }], now)
    return message
  })
