import {
  type ConversationFilter,
  conversationCursor,
  type DialogiEvent,
  DialogiEvent as Event,
  type EventSeq,
  contactOf as eventContactOf,
  conversationOf as eventConversationOf,
  type NewJob,
  parseConversationCursor,
  type StoreError,
  type StoreTx
} from "@dialogi/core"
import { Effect } from "effect"
import type { Row, SqlExecutor, Statement } from "./driver/SqlDriver.js"
import * as rows from "./rows.js"
import { toStoreError } from "./storeError.js"

/** What a transaction reports back to the store after commit. */
export interface TxEffects {
  headSeq: number | undefined
  readonly queues: Set<string>
}

/** Fixed statement text, prepared once per connection on pg under a stable name. */
const fixed = (name: string, text: string): Statement => ({ name: `dialogi_${name}`, text })

const sql = {
  lock: fixed("lock", "SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest($1::text[]) AS k"),
  findIdentity: fixed(
    "find_identity",
    "SELECT contact_id, channel, address, verified FROM dialogi_identities WHERE channel = $1 AND address = $2"
  ),
  getContact: fixed(
    "get_contact",
    `SELECT c.*, (SELECT coalesce(jsonb_agg(jsonb_build_object(
         'channel', i.channel, 'address', i.address, 'verified', i.verified) ORDER BY i.position), '[]')
       FROM dialogi_identities i WHERE i.contact_id = c.id) AS identities
     FROM dialogi_contacts c WHERE c.id = $1`
  ),
  insertContact: fixed(
    "insert_contact",
    `WITH c AS (
       INSERT INTO dialogi_contacts (id, name, attributes, merged_into, created_at)
       VALUES ($1, $2, $3::text::jsonb, $4, $5))
     INSERT INTO dialogi_identities (channel, address, contact_id, verified)
     SELECT ch, ad, $1, v FROM unnest($6::text[], $7::text[], $8::bool[]) AS t(ch, ad, v)
     ON CONFLICT (channel, address) DO UPDATE SET contact_id = excluded.contact_id, verified = excluded.verified`
  ),
  addIdentity: fixed(
    "add_identity",
    `INSERT INTO dialogi_identities (channel, address, contact_id, verified) VALUES ($1, $2, $3, $4)
     ON CONFLICT (channel, address) DO UPDATE SET contact_id = excluded.contact_id, verified = excluded.verified`
  ),
  verifyIdentity: fixed(
    "verify_identity",
    "UPDATE dialogi_identities SET verified = true WHERE channel = $1 AND address = $2"
  ),
  moveIdentities: fixed(
    "move_identities",
    `UPDATE dialogi_identities i SET contact_id = $1
     FROM unnest($2::text[], $3::text[]) AS t(ch, ad) WHERE i.channel = t.ch AND i.address = t.ad`
  ),
  setMergedInto: fixed("set_merged_into", "UPDATE dialogi_contacts SET merged_into = $2 WHERE id = $1"),
  insertMerge: fixed(
    "insert_merge",
    `INSERT INTO dialogi_merges (id, survivor_id, absorbed_id, reason, moved_identities, moved_conversations,
       created_at, undone_at) VALUES ($1, $2, $3, $4, $5::text::jsonb, $6::text[], $7, $8)`
  ),
  getMerge: fixed("get_merge", "SELECT * FROM dialogi_merges WHERE id = $1"),
  markMergeUndone: fixed("merge_undone", "UPDATE dialogi_merges SET undone_at = $2 WHERE id = $1"),
  getConversation: fixed("get_conversation", "SELECT * FROM dialogi_conversations WHERE id = $1"),
  findOpenConversation: fixed(
    "find_open_conversation",
    `SELECT * FROM dialogi_conversations WHERE contact_id = $1 AND status <> 'resolved'
     ORDER BY last_message_at DESC, id DESC LIMIT 1`
  ),
  conversationsOf: fixed("conversations_of", "SELECT id FROM dialogi_conversations WHERE contact_id = $1"),
  moveConversations: fixed(
    "move_conversations",
    "UPDATE dialogi_conversations SET contact_id = $2 WHERE id = ANY($1::text[])"
  ),
  insertConversation: fixed(
    "insert_conversation",
    `INSERT INTO dialogi_conversations (${rows.conversationColumns})
     VALUES ($1, $2, $3, $4, $5, $6, $7::text[], $8::text::jsonb, $9, $10, $11, $12, $13)`
  ),
  updateConversation: fixed(
    "update_conversation",
    `UPDATE dialogi_conversations SET contact_id = $2, status = $3, assignee_kind = $4, assignee_id = $5,
       priority = $6, tags = $7::text[], external_refs = $8::text::jsonb, last_inbound_channel = $9,
       last_inbound_at = $10, last_message_at = $11, created_at = $12, updated_at = $13
     WHERE id = $1`
  ),
  findByProviderId: fixed(
    "find_by_provider_id",
    `SELECT ${rows.messageColumns} FROM dialogi_messages WHERE channel = $1 AND provider_message_id = $2`
  ),
  getMessage: fixed("get_message", `SELECT ${rows.messageColumns} FROM dialogi_messages WHERE id = $1`),
  insertMessage: fixed(
    "insert_message",
    `INSERT INTO dialogi_messages (${rows.messageColumns}, metadata)
     VALUES ($1, $2, $3, $4::text::jsonb, $5, $6::text::jsonb, $7, $8, $9::text::jsonb, $10, $11, $12::text::jsonb)
     ON CONFLICT (channel, provider_message_id) DO NOTHING RETURNING id`
  ),
  setMessageStatus: fixed(
    "set_message_status",
    `UPDATE dialogi_messages SET status = $2::text::jsonb, provider_message_id = coalesce($3, provider_message_id)
     WHERE id = $1`
  ),
  lastInbound: fixed(
    "last_inbound",
    `SELECT ${rows.messageColumns} FROM dialogi_messages
     WHERE conversation_id = $1 AND channel = $2 AND direction = 'inbound'
     ORDER BY sent_at DESC, id DESC LIMIT 1`
  ),
  thread: fixed(
    "thread",
    `SELECT ${rows.messageColumns} FROM dialogi_messages WHERE conversation_id = ANY($1::text[])
     ORDER BY sent_at, id`
  ),
  // The head row's lock is held to commit: a concurrent append waits here, so numbers follow commit
  // order. NOTIFY is transactional too: listeners hear of the events when they are visible.
  appendEvents: fixed(
    "append_events",
    `WITH head AS (
       UPDATE dialogi_event_head SET seq = seq + $1::bigint WHERE id = 1 RETURNING seq - $1::bigint AS base),
     inserted AS (
       INSERT INTO dialogi_events (seq, at, body, conversation_id, contact_id)
       SELECT head.base + e.n, $2, e.body::jsonb, e.conversation_id, e.contact_id
       FROM head, unnest($3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS e(body, conversation_id, contact_id, n))
     SELECT base, pg_notify('dialogi_events', (base + $1::bigint)::text) FROM head`
  ),
  eventsAfter: fixed(
    "events_after",
    "SELECT seq, at, body, conversation_id, contact_id FROM dialogi_events WHERE seq > $1 ORDER BY seq LIMIT $2"
  )
}

const listConversationsSql = (
  filter: ConversationFilter,
  page: { readonly after?: string | undefined; readonly limit: number }
): { text: string; params: unknown[] } => {
  const params: unknown[] = []
  const where: string[] = []
  const param = (value: unknown) => {
    params.push(value)
    return `$${params.length}`
  }
  if (filter.status !== undefined)
    where.push(
      `c.status = ANY(${param(typeof filter.status === "string" ? [filter.status] : filter.status)}::text[])`
    )
  if (filter.contactId !== undefined) where.push(`c.contact_id = ${param(filter.contactId)}`)
  if (filter.tag !== undefined) where.push(`c.tags @> ARRAY[${param(filter.tag)}::text]`)
  if (filter.assignee !== undefined) {
    where.push(`c.assignee_kind = ${param(filter.assignee._tag)}`)
    if (filter.assignee._tag !== "none") where.push(`c.assignee_id = ${param(filter.assignee.id)}`)
  }
  if (filter.channel !== undefined)
    where.push(
      `EXISTS (SELECT 1 FROM dialogi_messages m WHERE m.conversation_id = c.id AND m.channel = ${param(filter.channel)})`
    )
  if (page.after !== undefined) {
    // A malformed cursor lists nothing rather than restarting from the top.
    const cursor = parseConversationCursor(page.after) ?? { at: -1, id: "" }
    where.push(
      `(c.last_message_at, c.id) < (${param(new Date(cursor.at))}::timestamptz, ${param(cursor.id)})`
    )
  }
  const text = `SELECT * FROM dialogi_conversations c ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
    ORDER BY c.last_message_at DESC, c.id DESC LIMIT ${param(page.limit + 1)}`
  return { text, params }
}

/**
 * The {@link StoreTx} operations on one executor (a transaction, or the pool for reads). Each
 * operation is one round trip. `enqueue` inserts jobs; `effects` collects what the store does
 * after commit.
 */
export const makeSqlTx = (
  executor: SqlExecutor,
  enqueue: (executor: SqlExecutor, job: NewJob) => Promise<void>,
  effects: TxEffects
): StoreTx => {
  const q = (operation: string, statement: Statement | string, params: ReadonlyArray<unknown>) =>
    Effect.tryPromise({
      try: () => executor.query(statement, params),
      catch: (error) => toStoreError(operation, error)
    })
  const one = <A>(
    operation: string,
    statement: Statement,
    params: ReadonlyArray<unknown>,
    f: (row: Row) => A
  ) =>
    Effect.map(q(operation, statement, params), (result) =>
      result[0] === undefined ? undefined : f(result[0])
    )
  const exec = (operation: string, statement: Statement, params: ReadonlyArray<unknown>) =>
    Effect.asVoid(q(operation, statement, params))

  return {
    lock: (keys) => {
      const sorted = [...new Set(keys)].sort()
      return sorted.length === 0 ? Effect.void : exec("lock", sql.lock, [sorted])
    },
    findIdentity: (channel, address) =>
      one("findIdentity", sql.findIdentity, [channel, address], rows.identityRowOf),
    getContact: (id) => one("getContact", sql.getContact, [id], rows.contactOf),
    insertContact: (c) =>
      exec("insertContact", sql.insertContact, [
        c.id,
        c.name ?? null,
        JSON.stringify(c.attributes),
        c.mergedInto ?? null,
        c.createdAt,
        c.identities.map((i) => i.channel),
        c.identities.map((i) => i.address),
        c.identities.map((i) => i.verified)
      ]),
    addIdentity: (contactId, i) =>
      exec("addIdentity", sql.addIdentity, [i.channel, i.address, contactId, i.verified]),
    setIdentityVerified: (channel, address) =>
      exec("setIdentityVerified", sql.verifyIdentity, [channel, address]),
    moveIdentities: (to, identities) =>
      identities.length === 0
        ? Effect.void
        : exec("moveIdentities", sql.moveIdentities, [
            to,
            identities.map((i) => i.channel),
            identities.map((i) => i.address)
          ]),
    setMergedInto: (id, into) => exec("setMergedInto", sql.setMergedInto, [id, into ?? null]),
    insertMerge: (m) =>
      exec("insertMerge", sql.insertMerge, [
        m.id,
        m.survivorId,
        m.absorbedId,
        m.reason,
        JSON.stringify(
          m.movedIdentities.map((i) => ({ channel: i.channel, address: i.address, verified: i.verified }))
        ),
        m.movedConversations,
        m.createdAt,
        m.undoneAt ?? null
      ]),
    getMerge: (id) => one("getMerge", sql.getMerge, [id], rows.mergeOf),
    markMergeUndone: (id, at) => exec("markMergeUndone", sql.markMergeUndone, [id, at]),
    getConversation: (id) => one("getConversation", sql.getConversation, [id], rows.conversationOf),
    findOpenConversation: (contactId) =>
      one("findOpenConversation", sql.findOpenConversation, [contactId], rows.conversationOf),
    conversationsOf: (contactId) =>
      Effect.map(q("conversationsOf", sql.conversationsOf, [contactId]), (result) =>
        result.map((r) => r.id as ReturnType<typeof rows.conversationOf>["id"])
      ),
    moveConversations: (ids, to) =>
      ids.length === 0 ? Effect.void : exec("moveConversations", sql.moveConversations, [ids, to]),
    insertConversation: (c) => exec("insertConversation", sql.insertConversation, rows.conversationParams(c)),
    updateConversation: (c) => exec("updateConversation", sql.updateConversation, rows.conversationParams(c)),
    listConversations: (filter, page) => {
      const { text, params } = listConversationsSql(filter, page)
      return Effect.map(q("listConversations", text, params), (result) => {
        const items = result.slice(0, page.limit).map(rows.conversationOf)
        const last = items[items.length - 1]
        return { items, next: result.length > page.limit && last ? conversationCursor(last) : undefined }
      })
    },
    findMessageByProviderId: (channel, providerMessageId) =>
      one("findMessageByProviderId", sql.findByProviderId, [channel, providerMessageId], rows.messageOf),
    getMessage: (id) => one("getMessage", sql.getMessage, [id], rows.messageOf),
    insertMessage: (m, metadata) =>
      Effect.map(
        q("insertMessage", sql.insertMessage, [
          m.id,
          m.conversationId,
          m.direction,
          JSON.stringify(m.author),
          m.channel,
          JSON.stringify(m.parts),
          m.visibility,
          m.providerMessageId ?? null,
          JSON.stringify(m.status),
          m.createdAt,
          m.sentAt,
          JSON.stringify(metadata)
        ]),
        (result) => result.length > 0
      ),
    setMessageStatus: (id, status, providerMessageId) =>
      exec("setMessageStatus", sql.setMessageStatus, [id, JSON.stringify(status), providerMessageId ?? null]),
    lastInbound: (conversationId, channel) =>
      one("lastInbound", sql.lastInbound, [conversationId, channel], rows.messageOf),
    thread: (ids) =>
      ids.length === 0
        ? Effect.succeed([])
        : Effect.map(q("thread", sql.thread, [ids]), (result) => result.map(rows.messageOf)),
    appendEvents: (bodies, at): Effect.Effect<ReadonlyArray<DialogiEvent>, StoreError> => {
      if (bodies.length === 0) return Effect.succeed([])
      const params = [
        bodies.length,
        at,
        bodies.map((b) => JSON.stringify(rows.encodeEventBody(b))),
        bodies.map((b) => eventConversationOf(b) ?? null),
        bodies.map((b) => eventContactOf(b) ?? null)
      ]
      return Effect.map(q("appendEvents", sql.appendEvents, params), (result) => {
        const base = Number(result[0]?.base)
        effects.headSeq = base + bodies.length
        return bodies.map(
          (body, i) =>
            new Event({
              seq: (base + i + 1) as EventSeq,
              at,
              body,
              conversationId: eventConversationOf(body),
              contactId: eventContactOf(body)
            })
        )
      })
    },
    eventsAfter: (seq, limit) =>
      Effect.map(q("eventsAfter", sql.eventsAfter, [seq, limit]), (result) => result.map(rows.eventOf)),
    enqueueJob: (job) =>
      Effect.tryPromise({
        try: () => enqueue(executor, job),
        catch: (error) => toStoreError("enqueueJob", error)
      }).pipe(Effect.tap(() => Effect.sync(() => effects.queues.add(job.queue))))
  }
}
