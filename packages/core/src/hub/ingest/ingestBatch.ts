import { Effect } from "effect"
import type { InboundEnvelope } from "../../adapter/InboundEnvelope.js"
import { Contact, Identity } from "../../domain/Contact.js"
import { Conversation } from "../../domain/Conversation.js"
import { StoreError } from "../../domain/Errors.js"
import type { EventBody } from "../../domain/Event.js"
import type { ChannelName, ContactId, ConversationId, MessageId } from "../../domain/Ids.js"
import { newId } from "../../domain/Ids.js"
import { Message } from "../../domain/Message.js"
import type { IdentityKey, NewMessage, ProviderMessageKey, StoreTx } from "../../store/Store.js"
import { type IngestResult, ingestOne, maxReferences } from "./ingestOne.js"

const keyOf = (channel: string, id: string) => `${channel}\u0000${id}`

const uniqueBy = <A>(items: Iterable<A>, key: (a: A) => string): A[] => {
  const seen = new Map<string, A>()
  for (const item of items) if (!seen.has(key(item))) seen.set(key(item), item)
  return [...seen.values()]
}

const referencesOf = (envelope: InboundEnvelope): ReadonlyArray<string> =>
  (envelope.threading?.inReplyTo ?? []).slice(-maxReferences).reverse()

/**
 * Ingests envelopes without identity claims with a fixed number of statements, whatever their
 * count: look-ups for the whole segment first, then one in-order pass in memory that applies
 * exactly the rules of {@link ingestOne}, then one write per table. The in-memory pass sees
 * the rows the segment itself creates, so two messages of one new customer in one segment get
 * one contact and one conversation.
 */
const ingestSegment = (
  tx: StoreTx,
  envelopes: ReadonlyArray<InboundEnvelope>,
  now: Date,
  events: EventBody[]
): Effect.Effect<ReadonlyArray<IngestResult>, StoreError> =>
  Effect.gen(function* () {
    const known = new Map<string, Message>()
    for (const message of yield* tx.findMessagesByProviderIds(
      uniqueBy<ProviderMessageKey>(
        envelopes.map((e) => ({ channel: e.channel, providerMessageId: e.providerMessageId })),
        (k) => keyOf(k.channel, k.providerMessageId)
      )
    ))
      known.set(keyOf(message.channel, message.providerMessageId!), message)
    const fresh = envelopes.filter((e) => !known.has(keyOf(e.channel, e.providerMessageId)))

    const identities = new Map<string, { contactId: ContactId; verified: boolean }>()
    for (const row of yield* tx.findIdentities(
      uniqueBy<IdentityKey>(
        fresh.map((e) => ({ channel: e.channel, address: e.from.address })),
        (k) => keyOf(k.channel, k.address)
      )
    ))
      identities.set(keyOf(row.identity.channel, row.identity.address), {
        contactId: row.contactId,
        verified: row.identity.verified
      })
    const storedContacts = [...new Set([...identities.values()].map((i) => i.contactId))]
    // Another instance may be threading a message of the same contact from another identity.
    if (storedContacts.length > 0) yield* tx.lock(storedContacts.map((id) => `contact:${id}`))

    const references = uniqueBy<ProviderMessageKey>(
      fresh.flatMap((e) =>
        referencesOf(e).map((providerMessageId) => ({ channel: e.channel, providerMessageId }))
      ),
      (k) => keyOf(k.channel, k.providerMessageId)
    ).filter((k) => !known.has(keyOf(k.channel, k.providerMessageId)))
    const replied = new Map<string, Message>(known)
    if (references.length > 0)
      for (const message of yield* tx.findMessagesByProviderIds(references))
        replied.set(keyOf(message.channel, message.providerMessageId!), message)

    const conversations = new Map<string, Conversation>()
    const wanted = new Set<ConversationId>()
    for (const message of replied.values()) wanted.add(message.conversationId)
    for (const e of fresh)
      if (e.threading?.conversationId !== undefined) wanted.add(e.threading.conversationId)
    if (wanted.size > 0) for (const c of yield* tx.getConversations([...wanted])) conversations.set(c.id, c)
    const openOf = new Map<ContactId, ConversationId>()
    for (const c of yield* tx.findOpenConversations(storedContacts)) {
      conversations.set(c.id, c)
      openOf.set(c.contactId, c.id)
    }

    const newContacts: Contact[] = []
    const createdConversations = new Set<ConversationId>()
    const touchedConversations = new Set<ConversationId>()
    const toVerify: IdentityKey[] = []
    const newMessages: NewMessage[] = []
    const results: IngestResult[] = []

    for (const envelope of envelopes) {
      const providerKey = keyOf(envelope.channel, envelope.providerMessageId)
      const existing = known.get(providerKey)
      if (existing) {
        results.push({
          messageId: existing.id,
          conversationId: existing.conversationId,
          contactId: conversations.get(existing.conversationId)!.contactId,
          duplicate: true
        })
        continue
      }
      const identityKey = keyOf(envelope.channel, envelope.from.address)
      let identity = identities.get(identityKey)
      if (!identity) {
        const contact = new Contact(
          {
            id: newId("ct") as ContactId,
            name: envelope.from.name,
            attributes: {},
            identities: [
              new Identity(
                {
                  channel: envelope.channel,
                  address: envelope.from.address,
                  verified: envelope.from.verified
                },
                true
              )
            ],
            createdAt: now
          },
          true
        )
        newContacts.push(contact)
        identity = { contactId: contact.id, verified: envelope.from.verified }
        identities.set(identityKey, identity)
        events.push({ _tag: "contact.created", contactId: contact.id, contact })
      } else if (envelope.from.verified && !identity.verified) {
        toVerify.push({ channel: envelope.channel, address: envelope.from.address })
        identity.verified = true
      }
      const contactId = identity.contactId

      let conversation: Conversation | undefined
      const hinted = envelope.threading?.conversationId
      if (hinted !== undefined && conversations.get(hinted)?.contactId === contactId)
        conversation = conversations.get(hinted)
      for (const reference of conversation ? [] : referencesOf(envelope)) {
        const message = replied.get(keyOf(envelope.channel, reference))
        const candidate = message && conversations.get(message.conversationId)
        if (candidate?.contactId === contactId) {
          conversation = candidate
          break
        }
      }
      if (!conversation) {
        const open = openOf.get(contactId)
        conversation = open === undefined ? undefined : conversations.get(open)
      }
      if (!conversation) {
        conversation = new Conversation(
          {
            id: newId("cv") as ConversationId,
            contactId,
            status: "open",
            assignee: { _tag: "none" },
            priority: "normal",
            tags: [],
            externalRefs: [],
            lastMessageAt: now,
            createdAt: now,
            updatedAt: now
          },
          true
        )
        createdConversations.add(conversation.id)
        events.push({ _tag: "conversation.opened", conversationId: conversation.id, conversation })
      }

      const message = new Message(
        {
          id: newId("msg") as MessageId,
          conversationId: conversation.id,
          direction: "inbound",
          author: { _tag: "contact" },
          channel: envelope.channel,
          parts: envelope.parts,
          visibility: "public",
          providerMessageId: envelope.providerMessageId,
          status: { _tag: "received" },
          createdAt: now,
          sentAt: envelope.sentAt
        },
        true
      )
      newMessages.push({ message, metadata: envelope.metadata })
      known.set(providerKey, message)
      replied.set(providerKey, message)

      if (conversation.status !== "open")
        events.push({
          _tag: "conversation.status_changed",
          conversationId: conversation.id,
          from: conversation.status,
          to: "open"
        })
      conversations.set(
        conversation.id,
        new Conversation(
          {
            ...conversation,
            status: "open",
            lastInboundChannel: envelope.channel as ChannelName,
            lastInboundAt: envelope.sentAt,
            lastMessageAt: now,
            updatedAt: now
          },
          true
        )
      )
      openOf.set(contactId, conversation.id)
      if (!createdConversations.has(conversation.id)) touchedConversations.add(conversation.id)
      events.push({ _tag: "message.received", conversationId: conversation.id, message })
      results.push({ messageId: message.id, conversationId: conversation.id, contactId, duplicate: false })
    }

    for (const key of uniqueBy(toVerify, (k) => keyOf(k.channel, k.address)))
      yield* tx.setIdentityVerified(key.channel, key.address)
    if (newContacts.length > 0) yield* tx.insertContacts(newContacts)
    if (createdConversations.size > 0)
      yield* tx.insertConversations([...createdConversations].map((id) => conversations.get(id)!))
    if (newMessages.length > 0) {
      const inserted = yield* tx.insertMessages(newMessages)
      // The message locks are held, so a conflict means a writer ignored them: retry the batch.
      if (inserted.length !== newMessages.length)
        return yield* new StoreError({
          message: "provider message id inserted concurrently",
          transient: true
        })
    }
    if (touchedConversations.size > 0)
      yield* tx.updateConversations([...touchedConversations].map((id) => conversations.get(id)!))
    return results
  })

/**
 * Ingests a batch in one transaction and returns one result per envelope, in order. Runs of
 * envelopes without identity claims go through the set-based path; an envelope with claims
 * (linking, merging) is handled on its own with the current rows, between the runs.
 */
export const ingestBatch = (
  tx: StoreTx,
  envelopes: ReadonlyArray<InboundEnvelope>,
  now: Date,
  events: EventBody[]
): Effect.Effect<ReadonlyArray<IngestResult>, StoreError> =>
  Effect.gen(function* () {
    const results: IngestResult[] = []
    let run: InboundEnvelope[] = []
    for (const envelope of envelopes) {
      if (envelope.claims.length === 0) {
        run.push(envelope)
        continue
      }
      if (run.length > 0) results.push(...(yield* ingestSegment(tx, run, now, events)))
      run = []
      results.push(yield* ingestOne(tx, envelope, now, events))
    }
    if (run.length > 0) results.push(...(yield* ingestSegment(tx, run, now, events)))
    return results
  })
