import { Effect, Schema } from "effect"
import type { OutboundRecordReceipt } from "../adapter/ChannelAdapter.js"
import { OutboundRecord, type OutboundRecordInput } from "../adapter/OutboundRecord.js"
import { Conversation } from "../domain/Conversation.js"
import { type InvalidAddress, InvalidInput, NotFound, type StoreError } from "../domain/Errors.js"
import { type MessageId, newId } from "../domain/Ids.js"
import { Message } from "../domain/Message.js"
import { findIdentity, findMessageByProviderId, findOpenConversation } from "../store/rowLookups.js"
import type { StoreService } from "../store/Store.js"
import type { AdapterRegistry } from "./AdapterRegistry.js"
import { lockConversations } from "./routing/placement.js"
import type { SlaEngine } from "./sla/SlaEngine.js"

const decode = Schema.decodeUnknown(OutboundRecord)

/**
 * Stores a message the business sent outside dialogi in the contact's open conversation, as
 * sent: no send job, the customer's last-inbound time untouched. A reply by a person or a bot
 * answers the customer, so it moves the SLA response clocks like a reply sent through dialogi.
 * Fails with NotFound when no contact has the address or the contact has no open conversation.
 */
export const recordOutbound = (
  deps: { readonly store: StoreService; readonly registry: AdapterRegistry; readonly sla: SlaEngine },
  input: OutboundRecordInput
): Effect.Effect<OutboundRecordReceipt, InvalidInput | InvalidAddress | NotFound | StoreError> =>
  Effect.gen(function* () {
    const record = yield* decode(input).pipe(
      Effect.mapError((e) => new InvalidInput({ what: "outbound record", message: e.message }))
    )
    const address = yield* deps.registry.normalize(record.channel, record.to)
    return yield* deps.store.transaction((tx) =>
      Effect.gen(function* () {
        const known = yield* findMessageByProviderId(tx, record.channel, record.providerMessageId)
        if (known) return { messageId: known.id, conversationId: known.conversationId, duplicate: true }
        const identity = yield* findIdentity(tx, record.channel, address)
        if (!identity) return yield* new NotFound({ entity: "contact", id: `${record.channel}:${address}` })
        const open = yield* findOpenConversation(tx, identity.contactId)
        if (!open) return yield* new NotFound({ entity: "conversation", id: `open:${identity.contactId}` })
        // The row is written whole: hold it and its contact, as replies do.
        const [conversation] = yield* lockConversations(tx, [open.id])
        if (!conversation) return yield* new NotFound({ entity: "conversation", id: open.id })
        const now = new Date()
        const message = new Message({
          id: newId("msg") as MessageId,
          conversationId: conversation.id,
          direction: "outbound",
          author: record.author,
          channel: record.channel,
          parts: record.parts,
          visibility: "public",
          providerMessageId: record.providerMessageId,
          status: { _tag: "sent" },
          createdAt: now,
          sentAt: record.sentAt
        })
        const inserted = yield* tx.insertMessages([{ message, metadata: { recorded: true } }])
        // Lost a race with a concurrent record of the same provider message: report that one.
        if (inserted.length === 0) {
          const winner = yield* findMessageByProviderId(tx, record.channel, record.providerMessageId)
          if (winner) return { messageId: winner.id, conversationId: winner.conversationId, duplicate: true }
        }
        const lastMessageAt =
          conversation.lastMessageAt.getTime() >= record.sentAt.getTime()
            ? conversation.lastMessageAt
            : record.sentAt
        yield* tx.updateConversations([new Conversation({ ...conversation, lastMessageAt, updatedAt: now })])
        const slaEvents = record.author._tag === "system" ? [] : yield* deps.sla.afterReply(tx, conversation)
        yield* tx.appendEvents(
          [
            { _tag: "message.queued", conversationId: conversation.id, message },
            {
              _tag: "message.sent",
              conversationId: conversation.id,
              messageId: message.id,
              providerMessageId: record.providerMessageId
            },
            ...slaEvents
          ],
          now
        )
        return { messageId: message.id, conversationId: conversation.id, duplicate: false }
      })
    )
  })
