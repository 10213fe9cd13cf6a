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

/** Fills one array per column from `items` (one pass, no intermediate row arrays). */
const columnsOf = <A>(
  items: ReadonlyArray<A>,
  width: number,
  fill: (item: A, columns: unknown[][]) => void
) => {
  const columns: unknown[][] = Array.from({ length: width }, () => [])
  for (const item of items) fill(item, columns)
  return columns
}

/**
 * The parameters of the bulk contact insert: the contact columns ($1-$5), then the identity
 * columns ($6-$9). An identity listed twice keeps its last owner, as successive single inserts
 * would (ON CONFLICT DO UPDATE cannot touch one row twice in a statement).
 */
export const contactsParams = (contacts: ReadonlyArray<Contact>): unknown[] => {
  const identities = new Map<string, readonly [string, string, string, boolean]>()
  const params = columnsOf(contacts, 5, (c, [id, name, attributes, mergedInto, createdAt]) => {
    id!.push(c.id)
    name!.push(c.name ?? null)
    attributes!.push(JSON.stringify(c.attributes))
    mergedInto!.push(c.mergedInto ?? null)
    createdAt!.push(c.createdAt)
    for (const i of c.identities)
      identities.set(`${i.channel}\u0000${i.address}`, [i.channel, i.address, c.id, i.verified])
  })
  return [
    ...params,
    ...columnsOf([...identities.values()], 4, (row, columns) => {
      for (let k = 0; k < 4; k++) columns[k]!.push(row[k])
    })
  ]
}

/** The parameters of {@link conversationUnnest}: one array per column of {@link conversationColumns}. */
export const conversationsParams = (conversations: ReadonlyArray<Conversation>): unknown[] =>
  columnsOf(conversations, 13, (c, columns) => {
    columns[0]!.push(c.id)
    columns[1]!.push(c.contactId)
    columns[2]!.push(c.status)
    columns[3]!.push(c.assignee._tag)
    columns[4]!.push(c.assignee._tag === "none" ? null : c.assignee.id)
    columns[5]!.push(c.priority)
    columns[6]!.push(JSON.stringify(c.tags))
    columns[7]!.push(JSON.stringify(c.externalRefs))
    columns[8]!.push(c.lastInboundChannel ?? null)
    columns[9]!.push(c.lastInboundAt ?? null)
    columns[10]!.push(c.lastMessageAt)
    columns[11]!.push(c.createdAt)
    columns[12]!.push(c.updatedAt)
  })

export const conversationColumns =
  "id, contact_id, status, assignee_kind, assignee_id, priority, tags, external_refs, " +
  "last_inbound_channel, last_inbound_at, last_message_at, created_at, updated_at"

/** Conversation rows from {@link conversationsParams} as `t`; tags and external_refs are JSON text. */
export const conversationUnnest =
  "unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], " +
  "$9::text[], $10::timestamptz[], $11::timestamptz[], $12::timestamptz[], $13::timestamptz[]) " +
  `AS t(${conversationColumns})`

/** The parameters of the bulk message insert: one array per column, metadata last. */
export const messagesParams = (items: ReadonlyArray<NewMessage>): unknown[] =>
  columnsOf(items, 12, ({ message: m, metadata }, columns) => {
    columns[0]!.push(m.id)
    columns[1]!.push(m.conversationId)
    columns[2]!.push(m.direction)
    columns[3]!.push(JSON.stringify(m.author))
    columns[4]!.push(m.channel)
    columns[5]!.push(JSON.stringify(m.parts))
    columns[6]!.push(m.visibility)
    columns[7]!.push(m.providerMessageId ?? null)
    columns[8]!.push(JSON.stringify(m.status))
    columns[9]!.push(m.createdAt)
    columns[10]!.push(m.sentAt)
    columns[11]!.push(JSON.stringify(metadata))
  })

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
