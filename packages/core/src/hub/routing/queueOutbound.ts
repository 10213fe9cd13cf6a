import { Effect } from "effect"
import type { Contact } from "../../domain/Contact.js"
import { Conversation } from "../../domain/Conversation.js"
import type { MessageId } from "../../domain/Ids.js"
import { newId } from "../../domain/Ids.js"
import { type Author, Message, type MessagePart } from "../../domain/Message.js"
import type { StoreTx } from "../../store/Store.js"
import type { AdapterRegistry } from "../AdapterRegistry.js"
import { checkReply, type ReplyCheck } from "../replyRules.js"
import { sendQueue } from "../sendWorker.js"

/**
 * Queues a message to the customer inside the caller's transaction, exactly as `hub.reply`
 * does (checked against the channel's rules, written queued with its send job, then sent by
 * the send worker with retries). Refused messages write nothing and return the refusal.
 */
export const queueOutbound = (
  tx: StoreTx,
  registry: AdapterRegistry,
  conversation: Conversation,
  contact: Contact,
  parts: ReadonlyArray<MessagePart>,
  author: Author,
  now: Date
) =>
  Effect.gen(function* () {
    const check: ReplyCheck = yield* checkReply(tx, registry, conversation, contact, undefined, parts, now)
    if (!check.ok) return { ok: false, refusal: check.refusal } as const
    const message = new Message({
      id: newId("msg") as MessageId,
      conversationId: conversation.id,
      direction: "outbound",
      author,
      channel: check.channel as Message["channel"],
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
    return { ok: true, message } as const
  })
