import { Effect } from "effect"
import { StoreError } from "../domain/Errors.js"
import type { StoreTx } from "./Store.js"

/** The store operations the ingest composites are built from. */
export type StoreTxBase = Omit<StoreTx, "findForIngest" | "findConversationsForIngest" | "applyIngestWrites">

/**
 * The ingest composites on top of the single-purpose methods: correct for any store, used as
 * is by the memory store. Stores where round trips cost (SQL) replace each with one statement.
 */
export const composeIngestOps = (
  tx: StoreTxBase
): Pick<StoreTx, "findForIngest" | "findConversationsForIngest" | "applyIngestWrites"> => {
  const findConversations: StoreTx["findConversationsForIngest"] = ({ openOf, ids, withSlaClocks }) =>
    Effect.gen(function* () {
      const open = yield* tx.findOpenConversations(openOf)
      const byId = yield* tx.getConversations(ids)
      if (withSlaClocks !== true) return { open, byId }
      const { now, rows } = yield* tx.getSlaClocks([...open, ...byId].map((c) => c.id))
      return { open, byId, slaClocks: { now, rows } }
    })
  return {
    findForIngest: ({ messages, identities, conversations }) =>
      Effect.gen(function* () {
        const foundMessages = yield* tx.findMessagesByProviderIds(messages)
        const foundIdentities = yield* tx.findIdentities(identities)
        const contacts = [...new Set(foundIdentities.map((row) => row.contactId))]
        if (contacts.length > 0) yield* tx.lock(contacts.map((id) => `contact:${id}`))
        const found = { messages: foundMessages, identities: foundIdentities }
        if (conversations === undefined) return found
        return {
          ...found,
          conversations: yield* findConversations({
            openOf: contacts,
            ids: [...new Set([...foundMessages.map((m) => m.conversationId), ...conversations.ids])],
            withSlaClocks: conversations.withSlaClocks
          })
        }
      }),
    findConversationsForIngest: findConversations,
    applyIngestWrites: (writes) =>
      Effect.gen(function* () {
        yield* tx.insertContacts(writes.contacts)
        yield* tx.insertConversations(writes.newConversations)
        const insertedMessageIds = yield* tx.insertMessages(writes.messages)
        if (insertedMessageIds.length !== writes.messages.length)
          return yield* new StoreError({
            message: "provider message id inserted concurrently",
            transient: true
          })
        yield* tx.updateConversations(writes.updatedConversations)
        if (writes.slaClocks !== undefined && writes.slaClocks.length > 0)
          yield* tx.putSlaClocks(writes.slaClocks)
        if (writes.deadlines !== undefined && writes.deadlines.length > 0)
          yield* tx.armDeadlines(writes.deadlines)
        if (writes.events.length > 0) yield* tx.appendEvents(writes.events, writes.at)
      })
  }
}
