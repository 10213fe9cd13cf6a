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
  Message
} from "@dialogi/core"
import { Schema } from "effect"
import type { Row } from "./driver/SqlDriver.js"

// Row <-> domain decoding. Rows come from both drivers, which agree on jsonb (parsed), arrays
// and timestamptz (Date) but not on bigint (string in pg), hence the Number() calls.

const optional = <A>(value: A | null | undefined): A | undefined => (value === null ? undefined : value)
const date = (value: unknown): Date => (value instanceof Date ? value : new Date(value as string))
const optionalDate = (value: unknown): Date | undefined => (value == null ? undefined : date(value))

/** An identity row as the identity columns hold it. */
export const identityOf = (row: Row): Identity =>
  new Identity({
    channel: row.channel as ChannelName,
    address: row.address as string,
    verified: row.verified as boolean
  })

export const identityRowOf = (row: Row): IdentityRow => ({
  contactId: row.contact_id as ContactId,
  identity: identityOf(row)
})

/** A contact row with its identities aggregated into `identities` (jsonb array). */
export const contactOf = (row: Row): Contact =>
  new Contact({
    id: row.id as ContactId,
    name: optional(row.name as string | null),
    attributes: row.attributes as Record<string, unknown>,
    identities: ((row.identities as ReadonlyArray<Row> | null) ?? []).map(identityOf),
    mergedInto: optional(row.merged_into as ContactId | null),
    createdAt: date(row.created_at)
  })

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
  new Conversation({
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
  })

/** The parameters of a conversation row, in column order of {@link conversationColumns}. */
export const conversationParams = (c: Conversation): unknown[] => [
  c.id,
  c.contactId,
  c.status,
  c.assignee._tag,
  c.assignee._tag === "none" ? null : c.assignee.id,
  c.priority,
  c.tags,
  JSON.stringify(c.externalRefs),
  c.lastInboundChannel ?? null,
  c.lastInboundAt ?? null,
  c.lastMessageAt,
  c.createdAt,
  c.updatedAt
]

export const conversationColumns =
  "id, contact_id, status, assignee_kind, assignee_id, priority, tags, external_refs, " +
  "last_inbound_channel, last_inbound_at, last_message_at, created_at, updated_at"

export const messageOf = (row: Row): Message =>
  new Message({
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
  })

export const messageColumns =
  "id, conversation_id, direction, author, channel, parts, visibility, provider_message_id, status, created_at, sent_at"

const encodeBody = Schema.encodeSync(EventBody)
const decodeBody = Schema.decodeUnknownSync(EventBody)

/** An event body as stored: the Schema encoding, so nested dates survive JSON. */
export const encodeEventBody = (body: EventBody): unknown => encodeBody(body)

export const eventOf = (row: Row): DialogiEvent =>
  new DialogiEvent({
    seq: Number(row.seq) as EventSeq,
    at: date(row.at),
    body: decodeBody(row.body),
    conversationId: optional(row.conversation_id as ConversationId | null),
    contactId: optional(row.contact_id as ContactId | null)
  })
