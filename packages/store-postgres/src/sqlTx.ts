import {
  type ChannelName,
  type ConversationFilter,
  type ConversationId,
  conversationCursor,
  type DialogiEvent,
  decodeClockState,
  DialogiEvent as Event,
  type EventBody,
  type EventSeq,
  encodeClockState,
  contactOf as eventContactOf,
  conversationOf as eventConversationOf,
  type IngestConversations,
  type IngestLookup,
  type MessageId,
  type MessageRef,
  type NewDeadline,
  type NewJob,
  parseConversationCursor,
  type SlaClockRow,
  type StoreError,
  type StoreTx
} from "@dialogi/core"
import { Effect } from "effect"
import { makeCsatOps } from "./csat/csatSql.js"
import { deadlinesChannel, makeDeadlineOps, notifyWindowMs } from "./deadlines/deadlineSql.js"
import { sqlLiteral } from "./driver/literals.js"
import type { Row, SqlExecutor, SqlTransaction, Statement } from "./driver/SqlDriver.js"
import { makeRoutingOps, visibleToCondition } from "./routing/routingSql.js"
import * as rows from "./rows.js"
import { makeSlaOps } from "./sla/slaSql.js"
import { toStoreError } from "./storeError.js"

/** What a transaction reports back to the store after commit. */
export interface TxEffects {
  headSeq: number | undefined
  readonly queues: Set<string>
  /** kind -> earliest due time (epoch ms) of the deadlines armed. */
  readonly deadlines: Map<string, number>
}

/** Effects of a transaction that has done nothing yet. */
export const noEffects = (): TxEffects => ({ headSeq: undefined, queues: new Set(), deadlines: new Map() })

/** Fixed statement text, prepared once per connection on pg under a stable name. */
const fixed = (name: string, text: string): Statement => ({ name: `dialogi_${name}`, text })
/** A fixed statement that casts every parameter, so it can share a round trip (`Statement.inline`). */
const inlinable = (name: string, text: string): Statement => ({ ...fixed(name, text), inline: true })

// Lookups by a batch of keys probe the unique index once per distinct key. A LATERAL subquery
// with LIMIT is never flattened into a join, so the plan cannot turn into a hash semi-join over
// a sequential scan of the whole table, which the planner preferred for batches of ~100 keys
// (random_page_cost 4) and which cost more with every row the table gained.
const identityProbe = (channels: string, addresses: string) =>
  `(SELECT DISTINCT * FROM unnest(${channels}::text[], ${addresses}::text[])) AS k(channel, address)
     CROSS JOIN LATERAL (
       SELECT i.contact_id, i.verified FROM dialogi_identities i
       WHERE i.channel = k.channel AND i.address = k.address LIMIT 1) i`
const messageProbe = (channels: string, providerIds: string, columns = rows.messageColumns) =>
  `(SELECT DISTINCT * FROM unnest(${channels}::text[], ${providerIds}::text[])) AS k(channel, provider_message_id)
     CROSS JOIN LATERAL (
       SELECT ${columns} FROM dialogi_messages m
       WHERE m.channel = k.channel AND m.provider_message_id = k.provider_message_id LIMIT 1) m`

const conversationAssignments = `contact_id = t.contact_id, status = t.status,
       assignee_kind = t.assignee_kind, assignee_id = t.assignee_id, priority = t.priority,
       tags = t.tags, external_refs = t.external_refs,
       last_inbound_channel = t.last_inbound_channel, last_inbound_at = t.last_inbound_at,
       last_message_at = t.last_message_at, created_at = t.created_at, updated_at = t.updated_at`

const lockOver = (keys: string) =>
  `SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest(${keys}::text[]) AS k`

/**
 * The lock statement with its keys written in, for a driver to send together with BEGIN (a
 * simple query, which has no parameters). `keys` must be distinct and sorted, as `lock` sorts
 * them, so that transactions always queue for shared keys in the same order.
 */
export const lockStatement = (keys: ReadonlyArray<string>): string =>
  lockOver(`ARRAY[${keys.map(sqlLiteral).join(", ")}]`)

const sql = {
  lock: fixed("lock", lockOver("$1")),
  // Bulk statements take one array per column and unnest them: one round trip per batch, and
  // one prepared statement whatever the batch size. Semi-joins (IN (SELECT ...)) keep duplicate
  // keys from duplicating rows; every key lookup is a primary-key or unique-index probe.
  findIdentities: fixed(
    "find_identities",
    `SELECT i.contact_id, k.channel, k.address, i.verified FROM ${identityProbe("$1", "$2")}`
  ),
  getContact: fixed(
    "get_contact",
    `SELECT c.*, (SELECT coalesce(jsonb_agg(jsonb_build_object(
         'channel', i.channel, 'address', i.address, 'verified', i.verified) ORDER BY i.position), '[]')
       FROM dialogi_identities i WHERE i.contact_id = c.id) AS identities
     FROM dialogi_contacts c WHERE c.id = $1`
  ),
  // Contacts and all their identities in one statement. Identities are inserted in array order,
  // which is what `position` (the order getContact returns them in) records.
  insertContacts: fixed(
    "insert_contacts",
    `WITH c AS (
       INSERT INTO dialogi_contacts (id, name, attributes, merged_into, created_at)
       SELECT id, name, attributes, merged_into, created_at FROM ${rows.recordset("$1", rows.contactRecord)})
     INSERT INTO dialogi_identities (channel, address, contact_id, verified)
     SELECT channel, address, contact_id, verified FROM ${rows.recordset("$2", rows.identityRecord)}
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
  getConversations: fixed(
    "get_conversations",
    "SELECT * FROM dialogi_conversations WHERE id = ANY($1::text[])"
  ),
  // One index probe per contact (LIMIT 1 on the partial index of non-resolved conversations), so
  // neither a contact's resolved history nor several open conversations are read. `k` is distinct.
  findOpenConversations: fixed(
    "find_open_conversations",
    `SELECT c.* FROM unnest($1::text[]) AS k(contact_id)
     CROSS JOIN LATERAL (
       SELECT * FROM dialogi_conversations c
       WHERE c.contact_id = k.contact_id AND c.status <> 'resolved'
       ORDER BY c.last_message_at DESC, c.id DESC LIMIT 1) c`
  ),
  conversationsOf: fixed("conversations_of", "SELECT id FROM dialogi_conversations WHERE contact_id = $1"),
  moveConversations: fixed(
    "move_conversations",
    "UPDATE dialogi_conversations SET contact_id = $2 WHERE id = ANY($1::text[])"
  ),
  insertConversations: fixed(
    "insert_conversations",
    `INSERT INTO dialogi_conversations (${rows.conversationColumns})
     SELECT ${rows.conversationColumns} FROM ${rows.recordset("$1", rows.conversationRecord)}`
  ),
  updateConversations: fixed(
    "update_conversations",
    // $2 repeats the ids so that the primary key is probed rather than the table scanned.
    `UPDATE dialogi_conversations c SET ${conversationAssignments}
     FROM ${rows.recordset("$1", rows.conversationRecord)}
     WHERE c.id = ANY($2::text[]) AND c.id = t.id`
  ),
  findByProviderIds: fixed("find_by_provider_ids", `SELECT m.* FROM ${messageProbe("$1", "$2")}`),
  getMessage: fixed("get_message", `SELECT ${rows.messageColumns} FROM dialogi_messages WHERE id = $1`),
  // ON CONFLICT DO NOTHING also skips a later row of the same batch with the same key: the
  // first one in array order is inserted, as a loop of single inserts would.
  insertMessages: fixed(
    "insert_messages",
    `INSERT INTO dialogi_messages (${rows.messageColumns}, metadata)
     SELECT ${rows.messageColumns}, metadata FROM ${rows.recordset("$1", rows.messageRecord)}
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
  appendEvents: inlinable(
    "append_events",
    `WITH head AS (
       UPDATE dialogi_event_head SET seq = seq + $1::bigint WHERE id = 1 RETURNING seq - $1::bigint AS base),
     inserted AS (
       INSERT INTO dialogi_events (seq, at, body, conversation_id, contact_id)
       SELECT head.base + e.n, $2::timestamptz, e.body, e.conversation_id, e.contact_id
       FROM head, ROWS FROM (json_to_recordset($3::json) AS (body jsonb, conversation_id text, contact_id text))
         WITH ORDINALITY AS e(body, conversation_id, contact_id, n))
     SELECT base, pg_notify('dialogi_events', (base + $1::bigint)::text) FROM head`
  ),
  eventsAfter: fixed(
    "events_after",
    "SELECT seq, at, body, conversation_id, contact_id FROM dialogi_events WHERE seq > $1 ORDER BY seq LIMIT $2"
  ),
  // Served by dialogi_events_conversation (conversation_id, seq): a chat socket's resume reads
  // its own thread's few events instead of every event after its cursor.
  eventsAfterInConversation: fixed(
    "events_after_in_conversation",
    `SELECT seq, at, body, conversation_id, contact_id FROM dialogi_events
     WHERE conversation_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`
  )
}

/** Parameters of `appendEvents`, or undefined when there is nothing to append. */
const eventParams = (bodies: ReadonlyArray<EventBody>, at: Date): unknown[] | undefined =>
  bodies.length === 0
    ? undefined
    : [
        bodies.length,
        at,
        JSON.stringify(
          bodies.map((b) => ({
            body: rows.encodeEventBody(b),
            conversation_id: eventConversationOf(b) ?? null,
            contact_id: eventContactOf(b) ?? null
          }))
        )
      ]

/** findForIngest's rows: where each known message is, and the identities found. */
const lookupOf = (result: ReadonlyArray<Row>): IngestLookup => ({
  // Only where each message is: ingest dedupes and threads by it, and the parts, author and
  // status of replied-to messages cost parsing for nothing.
  messages: result
    .filter((r) => r.kind === "message")
    .map(
      (r): MessageRef => ({
        id: r.id as MessageId,
        conversationId: r.conversation_id as ConversationId,
        channel: r.channel as ChannelName,
        providerMessageId: r.provider_message_id as string
      })
    ),
  identities: result.filter((r) => r.kind === "identity").map(rows.identityRowOf)
})

/** The rows of a conversations-for-ingest statement, with SLA clocks when they were asked for. */
const ingestConversationsOf = (result: ReadonlyArray<Row>, withSla: boolean): IngestConversations => {
  const found = {
    open: result.filter((r) => r.kind === "open").map(rows.conversationOf),
    byId: result.filter((r) => r.kind === "by_id").map(rows.conversationOf)
  }
  if (!withSla) return found
  const now = result.find((r) => r.kind === "now")!.now
  const slaRows = result
    .filter((r) => r.kind === "sla")
    .map(
      (r): SlaClockRow => ({
        conversationId: r.sla_conversation_id as ConversationId,
        state: decodeClockState(typeof r.sla_state === "string" ? JSON.parse(r.sla_state) : r.sla_state)
      })
    )
  return { ...found, slaClocks: { now: now instanceof Date ? now : new Date(now as string), rows: slaRows } }
}

/** The events as appended from `base + 1` on. */
const appendedEvents = (bodies: ReadonlyArray<EventBody>, base: number, at: Date): DialogiEvent[] =>
  bodies.map(
    (body, i) =>
      // Bodies come typed from the hub; re-validating nested messages cost a quarter of ingest CPU.
      new Event(
        {
          seq: (base + i + 1) as EventSeq,
          at,
          body,
          conversationId: eventConversationOf(body),
          contactId: eventContactOf(body)
        },
        true
      )
  )

// The conversations an ingest batch may join: each contact's open one, and those asked for by id.
const conversationsOf = (contactIds: string, ids: string) =>
  `SELECT 'open' AS kind, c.* FROM unnest(${contactIds}) AS k(contact_id)
     CROSS JOIN LATERAL (
       SELECT * FROM dialogi_conversations c
       WHERE c.contact_id = k.contact_id AND c.status <> 'resolved'
       ORDER BY c.last_message_at DESC, c.id DESC LIMIT 1) c
     UNION ALL
     SELECT 'by_id', c.* FROM dialogi_conversations c WHERE c.id = ANY(${ids})`
const ingestConversations = conversationsOf("$1::text[]", "$2::text[]")
// The same for the keys of findForIngest ($1-$4) and hinted ids ($5): the contacts of the
// identities found and the conversations of the messages found, probed again. Sent right after
// findForIngest in its round trip, this statement's snapshot is taken after that one's contact
// locks, so it sees every conversation committed by whoever held them.
const keyedConversations = `WITH found_contacts AS MATERIALIZED (
       SELECT DISTINCT i.contact_id FROM ${identityProbe("$3", "$4")}),
     found_messages AS MATERIALIZED (
       SELECT m.conversation_id FROM ${messageProbe("$1", "$2", "conversation_id")})
     ${conversationsOf(
       "ARRAY(SELECT contact_id FROM found_contacts)",
       "ARRAY(SELECT conversation_id FROM found_messages) || $5::text[]"
     )}`
// Conversations (any of the above), plus their SLA clock rows locked in id order (as
// getSlaClocks locks them) and the store's time: the SLA plan of the batch then needs no read of
// its own. Rows of one shape: clock rows carry NULL conversation columns (the table's row type,
// all NULL).
const withSlaClocks = (conversations: string) =>
  `WITH convs AS MATERIALIZED (${conversations}),
     clocks AS MATERIALIZED (
       SELECT s.conversation_id, s.state FROM dialogi_sla_clocks s
       WHERE s.conversation_id IN (SELECT id FROM convs)
       ORDER BY s.conversation_id FOR UPDATE)
     SELECT convs.*, NULL::text AS sla_conversation_id, NULL::jsonb AS sla_state, NULL::timestamptz AS now
     FROM convs
     UNION ALL
     SELECT 'sla', (NULL::dialogi_conversations).*, conversation_id, state, now() FROM clocks
     UNION ALL
     SELECT 'now', (NULL::dialogi_conversations).*, NULL, NULL, now()`

// The ingest composites: what one group-commit batch reads and writes, one statement each, so a
// batch costs the same few round trips whatever its size.
const ingestSql = {
  // Identities, then a lock on each contact they belong to (sorted: no lock-order deadlocks).
  // The locks are taken inside this statement, so later statements of the transaction see
  // every conversation committed by whoever held them.
  findForIngest: inlinable(
    "find_for_ingest",
    `WITH ids AS MATERIALIZED (
       SELECT i.contact_id, k.channel, k.address, i.verified FROM ${identityProbe("$3", "$4")}),
     locked AS MATERIALIZED (
       SELECT count(pg_advisory_xact_lock(hashtextextended('contact:' || contact_id, 0))) AS n
       FROM (SELECT DISTINCT contact_id FROM ids ORDER BY contact_id) s)
     SELECT 'message' AS kind, m.id, m.conversation_id, m.channel, m.provider_message_id,
       NULL::text AS contact_id, NULL::text AS address, NULL::boolean AS verified
     FROM ${messageProbe("$1", "$2", "id, conversation_id, channel, provider_message_id")}
     UNION ALL
     SELECT 'identity', NULL, NULL, ids.channel, NULL, ids.contact_id, ids.address, ids.verified
     FROM ids, locked`
  ),
  findConversationsForIngest: inlinable("find_conversations_for_ingest", ingestConversations),
  findConversationsWithSlaForIngest: inlinable(
    "find_conversations_sla_for_ingest",
    withSlaClocks(ingestConversations)
  ),
  keyedConversationsForIngest: inlinable("keyed_conversations_for_ingest", keyedConversations),
  keyedConversationsWithSlaForIngest: inlinable(
    "keyed_conversations_sla_for_ingest",
    withSlaClocks(keyedConversations)
  ),
  // Parameters: contacts $1 and identities $2 (rows.contactsJson), new conversations $3, updated
  // ones $4 (rows.conversationsJson) and their ids $5, messages $6 (rows.messagesJson), SLA clock
  // rows $7 and deadlines $8 (JSON, one row per key). The data-modifying CTEs all run, in one
  // snapshot. Deadlines due soon NOTIFY other instances as armDeadlines does. Events are
  // appended by a statement of their own, last.
  applyIngestWrites: inlinable(
    "apply_ingest_writes",
    `WITH new_contacts AS (
       INSERT INTO dialogi_contacts (id, name, attributes, merged_into, created_at)
       SELECT id, name, attributes, merged_into, created_at FROM ${rows.recordset("$1", rows.contactRecord)}
       RETURNING 1),
     new_identities AS (
       INSERT INTO dialogi_identities (channel, address, contact_id, verified)
       SELECT channel, address, contact_id, verified FROM ${rows.recordset("$2", rows.identityRecord)}
       ON CONFLICT (channel, address) DO UPDATE SET contact_id = excluded.contact_id, verified = excluded.verified
       RETURNING 1),
     new_conversations AS (
       INSERT INTO dialogi_conversations (${rows.conversationColumns})
       SELECT ${rows.conversationColumns} FROM ${rows.recordset("$3", rows.conversationRecord)}
       RETURNING 1),
     updated_conversations AS (
       UPDATE dialogi_conversations c SET ${conversationAssignments}
       FROM ${rows.recordset("$4", rows.conversationRecord)}
       -- The ids again, so that the primary key is probed rather than the table scanned.
       WHERE c.id = ANY($5::text[]) AND c.id = t.id
       RETURNING 1),
     new_messages AS (
       INSERT INTO dialogi_messages (${rows.messageColumns}, metadata)
       -- No ON CONFLICT: the batch holds its provider ids' locks, so a stored one means a writer
       -- ignored them; the unique violation fails the batch, which is retried (storeError.ts).
       SELECT ${rows.messageColumns}, metadata FROM ${rows.recordset("$6", rows.messageRecord)}
       RETURNING id),
     sla_clocks AS (
       INSERT INTO dialogi_sla_clocks (conversation_id, state, updated_at)
       SELECT conversation_id, state, now() FROM ${rows.recordset("$7", "conversation_id text, state jsonb")}
       ON CONFLICT (conversation_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at
       RETURNING 1),
     armed AS (
       INSERT INTO dialogi_deadlines (key, kind, due_at, payload, attempts, last_error)
       SELECT key, kind, due_at, payload, 0, NULL
       FROM ${rows.recordset("$8", "key text, kind text, due_at timestamptz, payload jsonb")}
       ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, due_at = excluded.due_at,
         payload = excluded.payload, attempts = 0, last_error = NULL
       RETURNING kind, due_at)
     SELECT (SELECT count(*) FROM new_messages) AS inserted,
       (SELECT count(*) FROM sla_clocks) AS clocks,
       (SELECT count(pg_notify('${deadlinesChannel}', (extract(epoch FROM due) * 1000)::bigint || ' ' || kind))
        FROM (SELECT kind, min(due_at) AS due FROM armed
              WHERE due_at < now() + interval '${notifyWindowMs / 1000} seconds' GROUP BY kind) soon) AS notified`
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
  if (filter.visibleTo !== undefined) where.push(visibleToCondition(param(filter.visibleTo)))
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

  // Deadlines armed in this transaction: after commit, this instance's claim loops wake for the
  // earliest of each kind.
  const noteArmed = (armed: ReadonlyArray<NewDeadline>) => {
    for (const d of armed) {
      const due = d.dueAt.getTime()
      const before = effects.deadlines.get(d.kind)
      if (before === undefined || due < before) effects.deadlines.set(d.kind, due)
    }
  }
  const tx: StoreTx = {
    lock: (keys) => {
      const sorted = [...new Set(keys)].sort()
      return sorted.length === 0 ? Effect.void : exec("lock", sql.lock, [sorted])
    },
    findIdentities: (keys) =>
      keys.length === 0
        ? Effect.succeed([])
        : Effect.map(
            q("findIdentities", sql.findIdentities, [keys.map((k) => k.channel), keys.map((k) => k.address)]),
            (result) => result.map(rows.identityRowOf)
          ),
    getContact: (id) => one("getContact", sql.getContact, [id], rows.contactOf),
    insertContacts: (contacts) =>
      contacts.length === 0
        ? Effect.void
        : exec("insertContacts", sql.insertContacts, rows.contactsJson(contacts)),
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
    getConversations: (ids) =>
      ids.length === 0
        ? Effect.succeed([])
        : Effect.map(q("getConversations", sql.getConversations, [ids]), (result) =>
            result.map(rows.conversationOf)
          ),
    findOpenConversations: (contactIds) =>
      contactIds.length === 0
        ? Effect.succeed([])
        : Effect.map(
            q("findOpenConversations", sql.findOpenConversations, [[...new Set(contactIds)]]),
            (result) => result.map(rows.conversationOf)
          ),
    conversationsOf: (contactId) =>
      Effect.map(q("conversationsOf", sql.conversationsOf, [contactId]), (result) =>
        result.map((r) => r.id as ReturnType<typeof rows.conversationOf>["id"])
      ),
    moveConversations: (ids, to) =>
      ids.length === 0 ? Effect.void : exec("moveConversations", sql.moveConversations, [ids, to]),
    insertConversations: (cs) =>
      cs.length === 0
        ? Effect.void
        : exec("insertConversations", sql.insertConversations, [rows.conversationsJson(cs)]),
    updateConversations: (cs) => {
      if (cs.length === 0) return Effect.void
      // UPDATE ... FROM applies one arbitrary source row per target row: the last write of an id wins,
      // as it would with one update after another.
      const last = [...new Map(cs.map((c) => [c.id as string, c])).values()]
      return exec("updateConversations", sql.updateConversations, [
        rows.conversationsJson(last),
        last.map((c) => c.id)
      ])
    },
    listConversations: (filter, page) => {
      const { text, params } = listConversationsSql(filter, page)
      return Effect.map(q("listConversations", text, params), (result) => {
        const items = result.slice(0, page.limit).map(rows.conversationOf)
        const last = items[items.length - 1]
        return { items, next: result.length > page.limit && last ? conversationCursor(last) : undefined }
      })
    },
    findMessagesByProviderIds: (keys) =>
      keys.length === 0
        ? Effect.succeed([])
        : Effect.map(
            q("findMessagesByProviderIds", sql.findByProviderIds, [
              keys.map((k) => k.channel),
              keys.map((k) => k.providerMessageId)
            ]),
            (result) => result.map(rows.messageOf)
          ),
    getMessage: (id) => one("getMessage", sql.getMessage, [id], rows.messageOf),
    insertMessages: (items) =>
      items.length === 0
        ? Effect.succeed([])
        : Effect.map(q("insertMessages", sql.insertMessages, [rows.messagesJson(items)]), (result) =>
            result.map((r) => r.id as MessageId)
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
      const params = eventParams(bodies, at)
      if (params === undefined) return Effect.succeed([])
      return Effect.map(q("appendEvents", sql.appendEvents, params), (result) => {
        const base = Number(result[0]?.base)
        effects.headSeq = base + bodies.length
        return appendedEvents(bodies, base, at)
      })
    },
    eventsAfter: (seq, limit, filter) =>
      Effect.map(
        filter?.conversationId === undefined
          ? q("eventsAfter", sql.eventsAfter, [seq, limit])
          : q("eventsAfter", sql.eventsAfterInConversation, [filter.conversationId, seq, limit]),
        (result) => result.map(rows.eventOf)
      ),
    findForIngest: ({ messages, identities, conversations }) => {
      const keys = [
        messages.map((k) => k.channel),
        messages.map((k) => k.providerMessageId),
        identities.map((k) => k.channel),
        identities.map((k) => k.address)
      ]
      if (conversations === undefined)
        return messages.length === 0 && identities.length === 0
          ? Effect.succeed({ messages: [], identities: [] })
          : Effect.map(q("findForIngest", ingestSql.findForIngest, keys), lookupOf)
      const both = [
        { statement: ingestSql.findForIngest, params: keys },
        {
          statement:
            conversations.withSlaClocks === true
              ? ingestSql.keyedConversationsWithSlaForIngest
              : ingestSql.keyedConversationsForIngest,
          params: [...keys, conversations.ids]
        }
      ]
      return Effect.map(
        Effect.tryPromise({
          // Both in one round trip where the driver can; outside a transaction one after the other.
          try: async () =>
            "queryAll" in executor
              ? (executor as SqlTransaction).queryAll(both)
              : [
                  await executor.query(both[0]!.statement, both[0]!.params),
                  await executor.query(both[1]!.statement, both[1]!.params)
                ],
          catch: (error) => toStoreError("findForIngest", error)
        }),
        ([found, convs]) => ({
          ...lookupOf(found!),
          conversations: ingestConversationsOf(convs!, conversations.withSlaClocks === true)
        })
      )
    },
    findConversationsForIngest: ({ openOf, ids, withSlaClocks }) =>
      openOf.length === 0 && ids.length === 0 && withSlaClocks !== true
        ? Effect.succeed({ open: [], byId: [] })
        : Effect.map(
            q(
              "findConversationsForIngest",
              withSlaClocks === true
                ? ingestSql.findConversationsWithSlaForIngest
                : ingestSql.findConversationsForIngest,
              [[...new Set(openOf)], ids]
            ),
            (result) => ingestConversationsOf(result, withSlaClocks === true)
          ),
    applyIngestWrites: (writes) => {
      // UPDATE ... FROM applies one arbitrary source row per target row: keep the last of an id.
      const updated = [...new Map(writes.updatedConversations.map((c) => [c.id as string, c])).values()]
      // An upsert cannot touch a row twice in one statement: the last clock row and deadline of
      // a key win, as successive writes would leave them.
      const clocks = [
        ...new Map((writes.slaClocks ?? []).map((r) => [r.conversationId as string, r])).values()
      ]
      const deadlines = [...new Map((writes.deadlines ?? []).map((d) => [d.key, d])).values()]
      const params = [
        ...rows.contactsJson(writes.contacts),
        rows.conversationsJson(writes.newConversations),
        rows.conversationsJson(updated),
        updated.map((c) => c.id),
        rows.messagesJson(writes.messages),
        JSON.stringify(
          clocks.map((r) => ({ conversation_id: r.conversationId, state: encodeClockState(r.state) }))
        ),
        JSON.stringify(
          deadlines.map((d) => ({ key: d.key, kind: d.kind, due_at: d.dueAt, payload: d.payload }))
        )
      ]
      const events = eventParams(writes.events, writes.at)
      const deferrable = "defer" in executor ? (executor as SqlTransaction) : undefined
      if (deferrable !== undefined)
        return Effect.try({
          // Nobody waits for these rows: both statements go with the transaction's next
          // statement or its COMMIT, in that round trip. A failure fails the transaction there.
          try: () => {
            deferrable.defer(ingestSql.applyIngestWrites, params, () => noteArmed(deadlines))
            if (events !== undefined)
              deferrable.defer(sql.appendEvents, events, (result) => {
                effects.headSeq = Number(result[0]?.base) + writes.events.length
              })
          },
          catch: (error) => toStoreError("applyIngestWrites", error)
        })
      return Effect.gen(function* () {
        yield* q("applyIngestWrites", ingestSql.applyIngestWrites, params)
        noteArmed(deadlines)
        // Events go last, in a statement of their own: the event head's row lock they take is
        // held until commit and makes concurrent ingest transactions wait for each other, so it
        // should cover only the event insert and the commit, not the batch's other writes.
        yield* tx.appendEvents(writes.events, writes.at)
      })
    },
    enqueueJob: (job) =>
      Effect.tryPromise({
        try: () => enqueue(executor, job),
        catch: (error) => toStoreError("enqueueJob", error)
      }).pipe(Effect.tap(() => Effect.sync(() => effects.queues.add(job.queue)))),
    routing: makeRoutingOps(executor),
    csat: makeCsatOps(q),
    ...makeDeadlineOps(executor, noteArmed),
    ...makeSlaOps(q)
  }
  return tx
}
