import {
  type ChannelName,
  Contact,
  type ContactId,
  Conversation,
  type ConversationId,
  DialogiEvent,
  EventBody,
  type EventSeq,
  Identity,
  type IdentityRow,
  type MergeId,
  type MergeRecord,
  Message,
  type NewMessage
} from "@dialogi/core"
import { Schema } from "effect"
import type { Row } from "./driver/SqlDriver.js"

// Row <-> domain decoding. Rows come from both drivers, which agree on jsonb (parsed), arrays
// and timestamptz (Date) but not on bigint (string in pg), hence the Number() calls.
//
// Domain objects built from rows skip Schema validation (the `true` second constructor argument,
// disableValidation): every row was written from a validated domain object, so validating it again
// on the way out only costs time on hot paths. Objects built from anything else still validate.
const trusted = true

const optional = <A>(value: A | null | undefined): A | undefined => (value === null ? undefined : value)
const date = (value: unknown): Date => (value instanceof Date ? value : new Date(value as string))
const optionalDate = (value: unknown): Date | undefined => (value == null ? undefined : date(value))

/** An identity row as the identity columns hold it. */
export const identityOf = (row: Row): Identity =>
  new Identity(
    {
      channel: row.channel as ChannelName,
      address: row.address as string,
      verified: row.verified as boolean
    },
    trusted
  )

export const identityRowOf = (row: Row): IdentityRow => ({
  contactId: row.contact_id as ContactId,
  identity: identityOf(row)
})

/** A contact row with its identities aggregated into `identities` (jsonb array). */
export const contactOf = (row: Row): Contact =>
  new Contact(
    {
      id: row.id as ContactId,
      name: optional(row.name as string | null),
      attributes: row.attributes as Record<string, unknown>,
      identities: ((row.identities as ReadonlyArray<Row> | null) ?? []).map(identityOf),
      mergedInto: optional(row.merged_into as ContactId | null),
      createdAt: date(row.created_at)
    },
    trusted
  )

export const mergeOf = (row: Row): MergeRecord => ({
  id: row.id as MergeId,
  survivorId: row.survivor_id as ContactId,
  absorbedId: row.absorbed_id as ContactId,
  reason: row.reason as string,
  movedIdentities: (row.moved_identities as ReadonlyArray<Row>).map(identityOf),
  movedConversations: row.moved_conversations as ReadonlyArray<ConversationId>,
  createdAt: date(row.created_at),
  undoneAt: optionalDate(row.undone_at)
})

export const conversationOf = (row: Row): Conversation =>
  new Conversation(
    {
      id: row.id as ConversationId,
      contactId: row.contact_id as ContactId,
      status: row.status as Conversation["status"],
      assignee:
        row.assignee_kind === "none"
          ? { _tag: "none" }
          : ({ _tag: row.assignee_kind, id: row.assignee_id } as Conversation["assignee"]),
      priority: row.priority as Conversation["priority"],
      tags: row.tags as ReadonlyArray<string>,
      externalRefs: row.external_refs as Conversation["externalRefs"],
      lastInboundChannel: optional(row.last_inbound_channel as ChannelName | null),
      lastInboundAt: optionalDate(row.last_inbound_at),
      lastMessageAt: date(row.last_message_at),
      createdAt: date(row.created_at),
      updatedAt: date(row.updated_at)
    },
    trusted
  )

// Batches travel as one JSON parameter each and are read back with json_to_recordset: one
// native JSON.stringify instead of the driver escaping every element of a dozen text[] arrays
// (JSON inside array literals doubles the escaping), and PostgreSQL parses each value once
// instead of parsing the array literal and then the JSON text in every element.

/** `json_to_recordset(<param>::json) AS t(<record>)`: the rows of a JSON batch parameter as `t`. */
export const recordset = (param: string, record: string): string =>
  `json_to_recordset(${param}::json) AS t(${record})`

export const contactRecord = "id text, name text, attributes jsonb, merged_into text, created_at timestamptz"
export const identityRecord = "channel text, address text, contact_id text, verified boolean"
export const conversationRecord =
  "id text, contact_id text, status text, assignee_kind text, assignee_id text, priority text, tags text[], " +
  "external_refs jsonb, last_inbound_channel text, last_inbound_at timestamptz, last_message_at timestamptz, " +
  "created_at timestamptz, updated_at timestamptz"
export const messageRecord =
  "id text, conversation_id text, direction text, author jsonb, channel text, parts jsonb, visibility text, " +
  "provider_message_id text, status jsonb, created_at timestamptz, sent_at timestamptz, metadata jsonb"

/**
 * The contacts ({@link contactRecord}) and their identities ({@link identityRecord}) as two JSON
 * batch parameters. An identity listed twice keeps its last owner, as successive single inserts
 * would (ON CONFLICT DO UPDATE cannot touch one row twice in a statement).
 */
export const contactsJson = (contacts: ReadonlyArray<Contact>): [string, string] => {
  const identities = new Map<string, object>()
  const rows = contacts.map((c) => {
    for (const i of c.identities)
      identities.set(`${i.channel}\u0000${i.address}`, {
        channel: i.channel,
        address: i.address,
        contact_id: c.id,
        verified: i.verified
      })
    return {
      id: c.id,
      name: c.name ?? null,
      attributes: c.attributes,
      merged_into: c.mergedInto ?? null,
      created_at: c.createdAt
    }
  })
  return [JSON.stringify(rows), JSON.stringify([...identities.values()])]
}

/** Conversations as a JSON batch parameter ({@link conversationRecord}). */
export const conversationsJson = (conversations: ReadonlyArray<Conversation>): string =>
  JSON.stringify(
    conversations.map((c) => ({
      id: c.id,
      contact_id: c.contactId,
      status: c.status,
      assignee_kind: c.assignee._tag,
      assignee_id: c.assignee._tag === "none" ? null : c.assignee.id,
      priority: c.priority,
      tags: c.tags,
      external_refs: c.externalRefs,
      last_inbound_channel: c.lastInboundChannel ?? null,
      last_inbound_at: c.lastInboundAt ?? null,
      last_message_at: c.lastMessageAt,
      created_at: c.createdAt,
      updated_at: c.updatedAt
    }))
  )

export const conversationColumns =
  "id, contact_id, status, assignee_kind, assignee_id, priority, tags, external_refs, " +
  "last_inbound_channel, last_inbound_at, last_message_at, created_at, updated_at"

/** Messages with their provider metadata as a JSON batch parameter ({@link messageRecord}). */
export const messagesJson = (items: ReadonlyArray<NewMessage>): string =>
  JSON.stringify(
    items.map(({ message: m, metadata }) => ({
      id: m.id,
      conversation_id: m.conversationId,
      direction: m.direction,
      author: m.author,
      channel: m.channel,
      parts: m.parts,
      visibility: m.visibility,
      provider_message_id: m.providerMessageId ?? null,
      status: m.status,
      created_at: m.createdAt,
      sent_at: m.sentAt,
      metadata
    }))
  )

export const messageOf = (row: Row): Message =>
  new Message(
    {
      id: row.id as Message["id"],
      conversationId: row.conversation_id as ConversationId,
      direction: row.direction as Message["direction"],
      author: row.author as Message["author"],
      channel: row.channel as ChannelName,
      parts: row.parts as Message["parts"],
      visibility: row.visibility as Message["visibility"],
      providerMessageId: optional(row.provider_message_id as string | null),
      status: row.status as Message["status"],
      createdAt: date(row.created_at),
      sentAt: date(row.sent_at)
    },
    trusted
  )

export const messageColumns =
  "id, conversation_id, direction, author, channel, parts, visibility, provider_message_id, status, created_at, sent_at"

const decodeBody = Schema.decodeUnknownSync(EventBody)

// The Schema encoding of the domain classes, by hand: the only transformations in them are
// DateFromNumber fields; everything else (parts, author, status, refs, identities, attributes)
// is plain data that encodes to itself. test/event-encoding.test.ts checks this against
// Schema.encodeSync for every kind of event.
const encodeContact = (c: Contact) => ({ ...c, createdAt: c.createdAt.getTime() })
const encodeConversation = (c: Conversation) => ({
  ...c,
  lastInboundAt: c.lastInboundAt?.getTime(),
  lastMessageAt: c.lastMessageAt.getTime(),
  createdAt: c.createdAt.getTime(),
  updatedAt: c.updatedAt.getTime()
})
const encodeMessage = (m: Message) => ({ ...m, createdAt: m.createdAt.getTime(), sentAt: m.sentAt.getTime() })

/**
 * An event body as stored: its Schema encoding (nested dates as epoch milliseconds, so they
 * survive JSON), built directly rather than through Schema.encode, which was a large share of
 * the ingest CPU profile.
 */
export const encodeEventBody = (body: EventBody): unknown => {
  switch (body._tag) {
    case "contact.created":
      return { ...body, contact: encodeContact(body.contact) }
    case "conversation.opened":
      return { ...body, conversation: encodeConversation(body.conversation) }
    case "message.received":
    case "message.queued":
    case "message.note_added":
      return { ...body, message: encodeMessage(body.message) }
    default:
      // The other bodies hold no dates: their encoding is themselves.
      return body
  }
}

export const eventOf = (row: Row): DialogiEvent =>
  new DialogiEvent(
    {
      seq: Number(row.seq) as EventSeq,
      at: date(row.at),
      body: decodeBody(row.body),
      conversationId: optional(row.conversation_id as ConversationId | null),
      contactId: optional(row.contact_id as ContactId | null)
    },
    trusted
  )
