import { Effect } from "effect"
import type { InboundEnvelope } from "../../adapter/InboundEnvelope.js"
import type { Contact } from "../../domain/Contact.js"
import type { Conversation } from "../../domain/Conversation.js"
import type { StoreError } from "../../domain/Errors.js"
import type { EventBody } from "../../domain/Event.js"
import type { ContactId, ConversationId } from "../../domain/Ids.js"
import type { SlaClockRow } from "../../sla/SlaClock.js"
import type {
  IdentityKey,
  IngestWrites,
  MessageRef,
  NewDeadline,
  NewMessage,
  ProviderMessageKey,
  StoreTx
} from "../../store/Store.js"
import type { SlaEngine, SlaInbound } from "../sla/SlaEngine.js"
import { afterInbound, inboundMessage, newContact, newConversation } from "./inboundRows.js"
import { type IngestResult, ingestOne, maxReferences } from "./ingestOne.js"

const keyOf = (channel: string, id: string) => `${channel}\u0000${id}`

const uniqueBy = <A>(items: Iterable<A>, key: (a: A) => string): A[] => {
  const seen = new Map<string, A>()
  for (const item of items) if (!seen.has(key(item))) seen.set(key(item), item)
  return [...seen.values()]
}

/**
 * SLA clock rows read (and locked) with the batch's conversations, so that the SLA plan needs no
 * read of its own when every conversation it covers was read here or created by the batch.
 */
interface SlaLoad {
  now: Date | undefined
  readonly rows: SlaClockRow[]
  readonly covered: Set<ConversationId>
}

const referencesOf = (envelope: InboundEnvelope): ReadonlyArray<string> =>
  (envelope.threading?.inReplyTo ?? []).slice(-maxReferences).reverse()

/**
 * Plans envelopes without identity claims with a fixed number of statements, whatever their
 * count: look-ups for the whole segment first, then one in-order pass in memory that applies
 * exactly the rules of {@link ingestOne}; the rows to write come back as one write set. The
 * in-memory pass sees the rows the segment itself creates, so two messages of one new customer
 * in one segment get one contact and one conversation.
 */
const planSegment = (
  tx: StoreTx,
  envelopes: ReadonlyArray<InboundEnvelope>,
  now: Date,
  events: EventBody[],
  slaInbound: SlaInbound[] | undefined,
  slaLoad: SlaLoad | undefined
): Effect.Effect<{ results: ReadonlyArray<IngestResult>; writes: SegmentWrites }, StoreError> =>
  Effect.gen(function* () {
    // Also locks the contacts found: another instance may be threading a message of the same
    // contact that arrived on another identity.
    const lookup = yield* tx.findForIngest({
      // The replied-to messages (threading references) come in the same look-up.
      messages: uniqueBy<ProviderMessageKey>(
        envelopes.flatMap((e) => [
          { channel: e.channel, providerMessageId: e.providerMessageId },
          ...referencesOf(e).map((providerMessageId) => ({ channel: e.channel, providerMessageId }))
        ]),
        (k) => keyOf(k.channel, k.providerMessageId)
      ),
      identities: uniqueBy<IdentityKey>(
        envelopes.map((e) => ({ channel: e.channel, address: e.from.address })),
        (k) => keyOf(k.channel, k.address)
      ),
      // The conversations come with the look-up (after its contact locks): one round trip less.
      conversations: {
        ids: [...new Set(envelopes.flatMap((e) => e.threading?.conversationId ?? []))],
        withSlaClocks: slaLoad !== undefined
      }
    })
    const replied = new Map<string, MessageRef>()
    for (const message of lookup.messages)
      replied.set(keyOf(message.channel, message.providerMessageId!), message)
    const known = new Map<string, MessageRef>()
    for (const e of envelopes) {
      const key = keyOf(e.channel, e.providerMessageId)
      const message = replied.get(key)
      if (message) known.set(key, message)
    }
    const fresh = envelopes.filter((e) => !known.has(keyOf(e.channel, e.providerMessageId)))

    const identities = new Map<string, { contactId: ContactId; verified: boolean }>()
    for (const row of lookup.identities)
      identities.set(keyOf(row.identity.channel, row.identity.address), {
        contactId: row.contactId,
        verified: row.identity.verified
      })
    const storedContacts = [...new Set([...identities.values()].map((i) => i.contactId))]

    const conversations = new Map<string, Conversation>()
    const wanted = new Set<ConversationId>()
    for (const message of replied.values()) wanted.add(message.conversationId)
    for (const e of fresh)
      if (e.threading?.conversationId !== undefined) wanted.add(e.threading.conversationId)
    const openOf = new Map<ContactId, ConversationId>()
    const found =
      lookup.conversations ??
      (wanted.size > 0 || storedContacts.length > 0
        ? yield* tx.findConversationsForIngest({
            openOf: storedContacts,
            ids: [...wanted],
            withSlaClocks: slaLoad !== undefined
          })
        : undefined)
    if (found !== undefined) {
      if (slaLoad !== undefined && found.slaClocks !== undefined) {
        slaLoad.now = found.slaClocks.now
        slaLoad.rows.push(...found.slaClocks.rows)
        for (const c of [...found.open, ...found.byId]) slaLoad.covered.add(c.id)
      }
      for (const c of found.byId) conversations.set(c.id, c)
      for (const c of found.open) {
        conversations.set(c.id, c)
        openOf.set(c.contactId, c.id)
      }
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
        const contact = newContact(envelope, now)
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
        conversation = newConversation(contactId, now)
        createdConversations.add(conversation.id)
        slaLoad?.covered.add(conversation.id)
        events.push({ _tag: "conversation.opened", conversationId: conversation.id, conversation })
      }

      const message = inboundMessage(envelope, conversation.id, now)
      newMessages.push({ message, metadata: envelope.metadata })
      known.set(providerKey, message)
      replied.set(providerKey, message)

      // SLA: the conversation as this message found it, for the clock transitions at batch end.
      slaInbound?.push({
        conversation,
        channel: envelope.channel,
        automated: envelope.metadata.automated === true
      })
      if (conversation.status !== "open")
        events.push({
          _tag: "conversation.status_changed",
          conversationId: conversation.id,
          from: conversation.status,
          to: "open"
        })
      conversations.set(conversation.id, afterInbound(conversation, envelope, now))
      openOf.set(contactId, conversation.id)
      if (!createdConversations.has(conversation.id)) touchedConversations.add(conversation.id)
      events.push({ _tag: "message.received", conversationId: conversation.id, message })
      results.push({ messageId: message.id, conversationId: conversation.id, contactId, duplicate: false })
    }

    for (const key of uniqueBy(toVerify, (k) => keyOf(k.channel, k.address)))
      yield* tx.setIdentityVerified(key.channel, key.address)
    return {
      results,
      writes: {
        contacts: newContacts,
        newConversations: [...createdConversations].map((id) => conversations.get(id)!),
        updatedConversations: [...touchedConversations].map((id) => conversations.get(id)!),
        messages: newMessages
      }
    }
  })

/**
 * Asked which deadlines the conversations a batch opened or reopened (a customer wrote into a
 * resolved one) need; they are written with the batch's last write, in its transaction.
 */
export type OpenedHook = (
  conversationIds: ReadonlyArray<ConversationId>,
  now: Date
) => ReadonlyArray<NewDeadline>

type SegmentWrites = Omit<IngestWrites, "events" | "at">

const noWrites: SegmentWrites = { contacts: [], newConversations: [], updatedConversations: [], messages: [] }

// A provider id stored meanwhile fails the batch with a transient error (the message locks are
// held, so a writer ignored them): the batcher retries it and then finds the message.
const applyWrites = (tx: StoreTx, writes: SegmentWrites, events: ReadonlyArray<EventBody>, at: Date) =>
  tx.applyIngestWrites({ ...writes, events, at })

/**
 * Ingests a batch inside the caller's transaction (which holds the batch's lock keys) and
 * returns one result per envelope, in order. Runs of envelopes without identity claims go
 * through the set-based path; an envelope with claims (linking, merging) is handled on its own
 * with the current rows, between the runs. Every event of the batch is appended last, in one
 * write with the last run's rows.
 */
export const ingestBatch = (
  tx: StoreTx,
  envelopes: ReadonlyArray<InboundEnvelope>,
  now: Date,
  sla?: SlaEngine | undefined,
  onOpened?: OpenedHook | undefined
): Effect.Effect<ReadonlyArray<IngestResult>, StoreError> =>
  Effect.gen(function* () {
    const events: EventBody[] = []
    const slaInbound: SlaInbound[] | undefined = sla?.enabled ? [] : undefined
    const slaLoad: SlaLoad | undefined = sla?.enabled
      ? { now: undefined, rows: [], covered: new Set() }
      : undefined
    const results: IngestResult[] = []
    let run: InboundEnvelope[] = []
    for (const envelope of envelopes) {
      if (envelope.claims.length === 0) {
        run.push(envelope)
        continue
      }
      if (run.length > 0) {
        const planned = yield* planSegment(tx, run, now, events, slaInbound, slaLoad)
        yield* applyWrites(tx, planned.writes, [], now)
        results.push(...planned.results)
      }
      run = []
      results.push(yield* ingestOne(tx, envelope, now, events, slaInbound))
    }
    const last =
      run.length > 0
        ? yield* planSegment(tx, run, now, events, slaInbound, slaLoad)
        : { results: [], writes: noWrites }
    // SLA clocks of the whole batch: one bulk read, written with the last segment's rows.
    const loaded =
      slaLoad?.now !== undefined && slaInbound?.every((i) => slaLoad.covered.has(i.conversation.id))
        ? { now: slaLoad.now, rows: slaLoad.rows }
        : undefined
    const slaWrites: Pick<IngestWrites, "slaClocks" | "deadlines"> =
      sla !== undefined && slaInbound !== undefined && slaInbound.length > 0
        ? yield* sla.planInbound(tx, slaInbound, loaded)
        : {}
    const opened =
      onOpened === undefined
        ? []
        : events.flatMap((e) =>
            e._tag === "conversation.opened" ||
            (e._tag === "conversation.status_changed" && e.from === "resolved")
              ? [e.conversationId]
              : []
          )
    const routed = onOpened === undefined || opened.length === 0 ? [] : onOpened(opened, now)
    yield* applyWrites(
      tx,
      { ...last.writes, ...slaWrites, deadlines: [...(slaWrites.deadlines ?? []), ...routed] },
      events,
      now
    )
    results.push(...last.results)
    return results
  })
