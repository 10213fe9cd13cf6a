import { Effect } from "effect"
import type { InboundEnvelope } from "../../adapter/InboundEnvelope.js"
import { Identity } from "../../domain/Contact.js"
import { StoreError } from "../../domain/Errors.js"
import type { EventBody } from "../../domain/Event.js"
import type { ContactId, ConversationId, MessageId } from "../../domain/Ids.js"
import { findMessageByProviderId, findOpenConversation, getConversation } from "../../store/rowLookups.js"
import type { StoreTx } from "../../store/Store.js"
import { mergeContacts } from "../contactMerge.js"
import type { SlaInbound } from "../sla/SlaEngine.js"
import { afterInbound, inboundMessage, newContact, newConversation } from "./inboundRows.js"

/** What ingesting one envelope produced. */
export interface IngestResult {
  readonly messageId: MessageId
  readonly conversationId: ConversationId
  readonly contactId: ContactId
  /** True when the provider message was already stored: nothing changed. */
  readonly duplicate: boolean
}

/** Lock keys that serialize ingests of the same provider message or identity across instances. */
export const ingestLockKeys = (envelope: InboundEnvelope): ReadonlyArray<string> => [
  `msg:${envelope.channel}:${envelope.providerMessageId}`,
  `id:${envelope.channel}:${envelope.from.address}`,
  ...envelope.claims.map((c) => `id:${c.channel}:${c.address}`)
]

// Only the last few references matter for threading; a long References header is attacker-
// sized input and each look-up is a query.
export const maxReferences = 10

/**
 * Finds or creates the contact of an envelope. The sender's own identity on its channel always
 * matches; a claimed identity on another channel links only when verified. An unverified claim
 * that matches someone else raises a merge suggestion instead, so nobody can read another
 * person's thread by typing their address.
 */
const resolveContact = (tx: StoreTx, envelope: InboundEnvelope, now: Date, events: EventBody[]) =>
  Effect.gen(function* () {
    const { channel, from } = envelope
    const rows = yield* tx.findIdentities([{ channel, address: from.address }, ...envelope.claims])
    const rowOf = (c: string, a: string) =>
      rows.find((r) => r.identity.channel === c && r.identity.address === a)
    const fromRow = rowOf(channel, from.address)
    const claimRows = envelope.claims.map((claim) => ({ claim, row: rowOf(claim.channel, claim.address) }))
    let contactId: ContactId
    if (fromRow) {
      contactId = fromRow.contactId
      if (from.verified && !fromRow.identity.verified) yield* tx.setIdentityVerified(channel, from.address)
    } else {
      const owner = claimRows.find((c) => c.claim.verified && c.row)?.row
      if (owner) {
        contactId = owner.contactId
        yield* tx.addIdentity(
          contactId,
          new Identity({ channel, address: from.address, verified: from.verified })
        )
        events.push({
          _tag: "contact.linked",
          contactId,
          channel,
          address: from.address,
          verified: from.verified
        })
      } else {
        const contact = newContact(envelope, now)
        contactId = contact.id
        yield* tx.insertContacts([contact])
        events.push({ _tag: "contact.created", contactId, contact })
      }
    }
    for (const { claim, row } of claimRows) {
      if (row?.contactId === contactId) {
        if (claim.verified && !row.identity.verified)
          yield* tx.setIdentityVerified(claim.channel, claim.address)
      } else if (!claim.verified) {
        if (row)
          events.push({
            _tag: "contact.merge_suggested",
            contactId,
            candidateId: row.contactId,
            channel: claim.channel,
            address: claim.address,
            reason: `unverified claim on ${channel}`
          })
      } else if (!row) {
        yield* tx.addIdentity(contactId, new Identity({ ...claim, verified: true }))
        events.push({
          _tag: "contact.linked",
          contactId,
          channel: claim.channel,
          address: claim.address,
          verified: true
        })
      } else {
        // The verified owner of the claimed identity is the established contact: it survives.
        const { event } = yield* mergeContacts(
          tx,
          row.contactId,
          contactId,
          `verified ${claim.channel} identity claimed on ${channel}`,
          now
        ).pipe(Effect.catchTags({ NotFound: (e) => Effect.die(e), MergeConflict: (e) => Effect.die(e) }))
        events.push(event)
        contactId = row.contactId
      }
    }
    return contactId
  })

/**
 * Picks the conversation: a verified hint, else a replied-to message of the same contact, else
 * the contact's open conversation, else a new one.
 */
const resolveConversation = (
  tx: StoreTx,
  envelope: InboundEnvelope,
  contactId: ContactId,
  now: Date,
  events: EventBody[]
) =>
  Effect.gen(function* () {
    const hint = envelope.threading
    if (hint?.conversationId !== undefined) {
      const hinted = yield* getConversation(tx, hint.conversationId)
      if (hinted?.contactId === contactId) return hinted
    }
    for (const reference of (hint?.inReplyTo ?? []).slice(-maxReferences).reverse()) {
      const replied = yield* findMessageByProviderId(tx, envelope.channel, reference)
      if (!replied) continue
      const conversation = yield* getConversation(tx, replied.conversationId)
      if (conversation?.contactId === contactId) return conversation
    }
    const open = yield* findOpenConversation(tx, contactId)
    if (open) return open
    const conversation = newConversation(contactId, now)
    yield* tx.insertConversations([conversation])
    events.push({ _tag: "conversation.opened", conversationId: conversation.id, conversation })
    return conversation
  })

/**
 * Ingests one envelope inside the caller's transaction, one look-up at a time; appends nothing
 * itself but pushes the events it caused onto `events`. Batches use it for envelopes with
 * identity claims (linking and merging need the current rows); plain envelopes go through the
 * set-based path in `ingestBatch.ts`.
 */
export const ingestOne = (
  tx: StoreTx,
  envelope: InboundEnvelope,
  now: Date,
  events: EventBody[],
  slaInbound?: SlaInbound[] | undefined
): Effect.Effect<IngestResult, StoreError> =>
  Effect.gen(function* () {
    const existing = yield* findMessageByProviderId(tx, envelope.channel, envelope.providerMessageId)
    if (existing) {
      const conversation = yield* getConversation(tx, existing.conversationId)
      return {
        messageId: existing.id,
        conversationId: existing.conversationId,
        contactId: conversation!.contactId,
        duplicate: true
      }
    }
    const contactId = yield* resolveContact(tx, envelope, now, events)
    yield* tx.lock([`contact:${contactId}`])
    const conversation = yield* resolveConversation(tx, envelope, contactId, now, events)
    const message = inboundMessage(envelope, conversation.id, now)
    const inserted = yield* tx.insertMessages([{ message, metadata: envelope.metadata }])
    // The message lock is held, so a conflict here means a concurrent writer ignored it: retry.
    if (inserted.length !== 1)
      return yield* new StoreError({ message: "provider message id inserted concurrently", transient: true })
    slaInbound?.push({
      conversation,
      channel: envelope.channel,
      automated: envelope.metadata.automated === true
    })
    const reopened = conversation.status !== "open"
    yield* tx.updateConversations([afterInbound(conversation, envelope, now)])
    if (reopened)
      events.push({
        _tag: "conversation.status_changed",
        conversationId: conversation.id,
        from: conversation.status,
        to: "open"
      })
    events.push({ _tag: "message.received", conversationId: conversation.id, message })
    return { messageId: message.id, conversationId: conversation.id, contactId, duplicate: false }
  })
