import { Effect } from "effect"
import { MergeConflict, NotFound } from "../domain/Errors.js"
import type { EventBody } from "../domain/Event.js"
import { type ContactId, type MergeId, newId } from "../domain/Ids.js"
import type { MergeRecord, StoreTx } from "../store/Store.js"

/**
 * Merges `absorbedId` into `survivorId`: identities and conversations move to the survivor and
 * the absorbed contact points at it. Everything moved is recorded, so {@link unmergeContacts}
 * restores both contacts exactly.
 */
export const mergeContacts = (
  tx: StoreTx,
  survivorId: ContactId,
  absorbedId: ContactId,
  reason: string,
  now: Date
) =>
  Effect.gen(function* () {
    const absorbed = yield* tx.getContact(absorbedId)
    if (!absorbed) return yield* new NotFound({ entity: "contact", id: absorbedId })
    const survivor = yield* tx.getContact(survivorId)
    if (!survivor) return yield* new NotFound({ entity: "contact", id: survivorId })
    if (survivor.mergedInto !== undefined || absorbed.mergedInto !== undefined || survivorId === absorbedId)
      return yield* new MergeConflict({ message: "both contacts must be distinct and not merged already" })
    const conversations = yield* tx.conversationsOf(absorbedId)
    const merge: MergeRecord = {
      id: newId("mrg") as MergeId,
      survivorId,
      absorbedId,
      reason,
      movedIdentities: absorbed.identities,
      movedConversations: conversations,
      createdAt: now
    }
    yield* tx.moveIdentities(survivorId, absorbed.identities)
    yield* tx.moveConversations(conversations, survivorId)
    yield* tx.setMergedInto(absorbedId, survivorId)
    yield* tx.insertMerge(merge)
    const event: EventBody = {
      _tag: "contact.merged",
      mergeId: merge.id,
      contactId: survivorId,
      absorbedId,
      reason
    }
    return { merge, event }
  })

/** Undoes a merge: the absorbed contact gets back its identities and conversations. */
export const unmergeContacts = (tx: StoreTx, mergeId: MergeId, now: Date) =>
  Effect.gen(function* () {
    const merge = yield* tx.getMerge(mergeId)
    if (!merge) return yield* new NotFound({ entity: "merge", id: mergeId })
    if (merge.undoneAt !== undefined)
      return yield* new MergeConflict({ message: `merge ${mergeId} is already undone` })
    yield* tx.moveIdentities(merge.absorbedId, merge.movedIdentities)
    yield* tx.moveConversations(merge.movedConversations, merge.absorbedId)
    yield* tx.setMergedInto(merge.absorbedId, undefined)
    yield* tx.markMergeUndone(mergeId, now)
    const event: EventBody = {
      _tag: "contact.unmerged",
      mergeId,
      contactId: merge.survivorId,
      restoredId: merge.absorbedId
    }
    return { merge, event }
  })
