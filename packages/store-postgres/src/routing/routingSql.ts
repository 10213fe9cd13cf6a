import type { ConversationId, Message, RoutingTx, StoreError } from "@dialogi/core"
import { Effect } from "effect"
import type { Row, SqlExecutor, SqlTransaction, Statement } from "../driver/SqlDriver.js"
import * as rows from "../rows.js"
import { toStoreError } from "../storeError.js"
import * as routingRows from "./routingRows.js"

const fixed = (name: string, text: string): Statement => ({ name: `dialogi_${name}`, text })
/** A fixed statement that casts every parameter, so it can share a round trip (`Statement.inline`). */
const inlinable = (name: string, text: string): Statement => ({ ...fixed(name, text), inline: true })

/** Whether participant $1 may see conversation `c` (a dialogi_conversations row): see RoutingTx.visibleTo. */
export const visibleToCondition = (viewerParam: string): string => `EXISTS (
  SELECT 1 FROM dialogi_participants v WHERE v.id = ${viewerParam} AND (
    v.role = 'admin'
    OR (c.assignee_kind IN ('agent', 'bot') AND c.assignee_id = v.id)
    OR (c.assignee_kind = 'team' AND c.assignee_id = ANY(v.teams))
    OR EXISTS (SELECT 1 FROM dialogi_routing r WHERE r.conversation_id = c.id AND r.team_id = ANY(v.teams))))`

export const routingSql = {
  upsertTeam: fixed(
    "upsert_team",
    `INSERT INTO dialogi_teams (id, name, strategy, overflow_after_ms, overflow_team_id, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (id) DO UPDATE SET name = excluded.name, strategy = excluded.strategy,
       overflow_after_ms = excluded.overflow_after_ms, overflow_team_id = excluded.overflow_team_id,
       updated_at = excluded.updated_at`
  ),
  getTeams: fixed("get_teams", "SELECT * FROM dialogi_teams WHERE id = ANY($1::text[]) ORDER BY id"),
  listTeams: fixed("list_teams", "SELECT * FROM dialogi_teams ORDER BY id"),
  roundRobinLast: fixed("round_robin_last", "SELECT round_robin_last FROM dialogi_teams WHERE id = $1"),
  setRoundRobinLast: inlinable(
    "set_round_robin_last",
    "UPDATE dialogi_teams SET round_robin_last = $2::text WHERE id = $1::text"
  ),
  upsertParticipant: fixed(
    "upsert_participant",
    `INSERT INTO dialogi_participants (id, kind, name, role, teams, skills, capacity, availability, calendar,
       updated_at) VALUES ($1, $2, $3, $4, $5::text[], $6::text[], $7, $8, $9::text::jsonb, $10)
     ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, name = excluded.name, role = excluded.role,
       teams = excluded.teams, skills = excluded.skills, capacity = excluded.capacity,
       availability = excluded.availability, calendar = excluded.calendar, updated_at = excluded.updated_at`
  ),
  getParticipants: fixed(
    "get_participants",
    "SELECT * FROM dialogi_participants WHERE id = ANY($1::text[]) ORDER BY id"
  ),
  listParticipants: fixed("list_participants", "SELECT * FROM dialogi_participants ORDER BY id"),
  teamMembers: fixed(
    "team_members",
    "SELECT * FROM dialogi_participants WHERE teams @> ARRAY[$1::text] ORDER BY id"
  ),
  // Probes the assignee index per participant; resolved conversations do not count.
  loads: fixed(
    "participant_loads",
    `SELECT k.id, (SELECT count(*) FROM dialogi_conversations c
       WHERE c.assignee_kind IN ('agent', 'bot') AND c.assignee_id = k.id AND c.status <> 'resolved') AS load
     FROM unnest($1::text[]) AS k(id)`
  ),
  getRouting: fixed("get_routing", "SELECT * FROM dialogi_routing WHERE conversation_id = ANY($1::text[])"),
  putRouting: inlinable(
    "put_routing",
    `INSERT INTO dialogi_routing (conversation_id, team_id, queued, priority, skills, queued_at)
     SELECT conversation_id, team_id, queued, priority, ARRAY(SELECT jsonb_array_elements_text(skills::jsonb)),
       queued_at
     FROM unnest($1::text[], $2::text[], $3::bool[], $4::int[], $5::text[], $6::timestamptz[])
       AS t(conversation_id, team_id, queued, priority, skills, queued_at)
     ON CONFLICT (conversation_id) DO UPDATE SET team_id = excluded.team_id, queued = excluded.queued,
       priority = excluded.priority, skills = excluded.skills, queued_at = excluded.queued_at`
  ),
  queued: fixed(
    "team_queue",
    `SELECT * FROM dialogi_routing WHERE team_id = $1 AND queued
     ORDER BY priority, queued_at, conversation_id LIMIT $2`
  ),
  queuedTeams: fixed("queued_teams", "SELECT DISTINCT team_id FROM dialogi_routing WHERE queued"),
  insertHandoff: fixed(
    "insert_handoff",
    `INSERT INTO dialogi_handoffs (id, conversation_id, state, requested_at, body)
     VALUES ($1, $2, $3, $4, $5::text::jsonb)`
  ),
  getHandoff: fixed("get_handoff", "SELECT body FROM dialogi_handoffs WHERE id = $1"),
  // The state in the WHERE clause is the guard: of concurrent deciders, only one row update happens.
  updateHandoff: fixed(
    "update_handoff",
    `UPDATE dialogi_handoffs SET state = $2, body = $3::text::jsonb WHERE id = $1 AND state = $4 RETURNING id`
  ),
  pendingHandoff: fixed(
    "pending_handoff",
    "SELECT body FROM dialogi_handoffs WHERE conversation_id = $1 AND state = 'requested'"
  ),
  listHandoffs: fixed(
    "list_handoffs",
    "SELECT body FROM dialogi_handoffs WHERE conversation_id = $1 ORDER BY requested_at, id"
  ),
  insertCallback: fixed(
    "insert_callback",
    `INSERT INTO dialogi_callbacks (id, conversation_id, state, window_from, body)
     VALUES ($1, $2, $3, $4, $5::text::jsonb)`
  ),
  getCallback: fixed("get_callback", "SELECT body FROM dialogi_callbacks WHERE id = $1"),
  updateCallback: fixed(
    "update_callback",
    `UPDATE dialogi_callbacks SET state = $2, body = $3::text::jsonb WHERE id = $1 AND state = $4 RETURNING id`
  ),
  listCallbacks: fixed(
    "list_callbacks",
    "SELECT body FROM dialogi_callbacks WHERE conversation_id = $1 ORDER BY window_from, id"
  ),
  lastMessages: fixed(
    "last_messages",
    `SELECT * FROM (SELECT ${rows.messageColumns} FROM dialogi_messages WHERE conversation_id = $1
       ORDER BY sent_at DESC, id DESC LIMIT $2) m ORDER BY sent_at, id`
  ),
  visibleTo: fixed(
    "visible_to",
    `SELECT c.id FROM dialogi_conversations c WHERE c.id = ANY($2::text[]) AND ${visibleToCondition("$1")}`
  )
}

/** The {@link RoutingTx} operations on one executor, one round trip each. */
export const makeRoutingOps = (executor: SqlExecutor): RoutingTx => {
  const q = (operation: string, statement: Statement, params: ReadonlyArray<unknown>) =>
    Effect.tryPromise({
      try: () => executor.query(statement, params),
      catch: (error): StoreError => toStoreError(operation, error)
    })
  const all = <A>(
    operation: string,
    statement: Statement,
    params: ReadonlyArray<unknown>,
    f: (r: Row) => A
  ) => Effect.map(q(operation, statement, params), (result) => result.map(f))
  const first = <A>(
    operation: string,
    statement: Statement,
    params: ReadonlyArray<unknown>,
    f: (r: Row) => A
  ) =>
    Effect.map(q(operation, statement, params), (result) =>
      result[0] === undefined ? undefined : f(result[0])
    )
  const exec = (operation: string, statement: Statement, params: ReadonlyArray<unknown>) =>
    Effect.asVoid(q(operation, statement, params))
  // Writes whose rows nobody reads go with the transaction's next statement or its COMMIT, in
  // that round trip; a failure fails that statement and the transaction, as an awaited one would.
  const deferrable = "defer" in executor ? (executor as SqlTransaction) : undefined
  const write = (operation: string, statement: Statement, params: ReadonlyArray<unknown>) =>
    deferrable === undefined
      ? exec(operation, statement, params)
      : Effect.try({
          try: () => deferrable.defer(statement, params),
          catch: (error) => toStoreError(operation, error)
        })

  return {
    upsertTeam: (team) => exec("upsertTeam", routingSql.upsertTeam, routingRows.teamParams(team)),
    getTeams: (ids) =>
      ids.length === 0 ? Effect.succeed([]) : all("getTeams", routingSql.getTeams, [ids], routingRows.teamOf),
    listTeams: () => all("listTeams", routingSql.listTeams, [], routingRows.teamOf),
    teamWithPosition: (teamId) =>
      first("teamWithPosition", routingSql.getTeams, [[teamId]], (r) => ({
        team: routingRows.teamOf(r),
        roundRobinLast: (r.round_robin_last as string | null) ?? undefined
      })),
    roundRobinLast: (teamId) =>
      Effect.map(
        first(
          "roundRobinLast",
          routingSql.roundRobinLast,
          [teamId],
          (r) => r.round_robin_last as string | null
        ),
        (last) => last ?? undefined
      ),
    setRoundRobinLast: (teamId, participantId) =>
      write("setRoundRobinLast", routingSql.setRoundRobinLast, [teamId, participantId]),
    upsertParticipant: (p) =>
      exec("upsertParticipant", routingSql.upsertParticipant, routingRows.participantParams(p)),
    getParticipants: (ids) =>
      ids.length === 0
        ? Effect.succeed([])
        : all("getParticipants", routingSql.getParticipants, [ids], routingRows.participantOf),
    listParticipants: (filter) =>
      filter.team === undefined
        ? all("listParticipants", routingSql.listParticipants, [], routingRows.participantOf)
        : all("listParticipants", routingSql.teamMembers, [filter.team], routingRows.participantOf),
    loads: (ids) =>
      ids.length === 0
        ? Effect.succeed(new Map())
        : Effect.map(
            q("loads", routingSql.loads, [[...new Set(ids)]]),
            (result) => new Map(result.map((r) => [r.id as string, Number(r.load)]))
          ),
    getRouting: (ids) =>
      ids.length === 0
        ? Effect.succeed([])
        : all("getRouting", routingSql.getRouting, [ids], routingRows.routingOf),
    putRouting: (entries) => {
      if (entries.length === 0) return Effect.void
      // An upsert cannot touch one row twice in a statement: the last entry of an id wins.
      const last = [...new Map(entries.map((e) => [e.conversationId as string, e])).values()]
      return write("putRouting", routingSql.putRouting, routingRows.routingParams(last))
    },
    queued: (teamId, limit) => all("queued", routingSql.queued, [teamId, limit], routingRows.routingOf),
    queuedTeams: () => all("queuedTeams", routingSql.queuedTeams, [], (r) => r.team_id as string),
    insertHandoff: (h) => exec("insertHandoff", routingSql.insertHandoff, routingRows.handoffParams(h)),
    getHandoff: (id) => first("getHandoff", routingSql.getHandoff, [id], routingRows.handoffOf),
    updateHandoff: (h, from) =>
      Effect.map(
        q("updateHandoff", routingSql.updateHandoff, [h.id, h.state, routingRows.handoffBody(h), from]),
        (r) => r.length > 0
      ),
    pendingHandoff: (conversationId) =>
      first("pendingHandoff", routingSql.pendingHandoff, [conversationId], routingRows.handoffOf),
    listHandoffs: (conversationId) =>
      all("listHandoffs", routingSql.listHandoffs, [conversationId], routingRows.handoffOf),
    insertCallback: (c) => exec("insertCallback", routingSql.insertCallback, routingRows.callbackParams(c)),
    getCallback: (id) => first("getCallback", routingSql.getCallback, [id], routingRows.callbackOf),
    updateCallback: (c, from) =>
      Effect.map(
        q("updateCallback", routingSql.updateCallback, [c.id, c.state, routingRows.callbackBody(c), from]),
        (r) => r.length > 0
      ),
    listCallbacks: (conversationId) =>
      all("listCallbacks", routingSql.listCallbacks, [conversationId], routingRows.callbackOf),
    lastMessages: (conversationId, limit): Effect.Effect<ReadonlyArray<Message>, StoreError> =>
      all("lastMessages", routingSql.lastMessages, [conversationId, limit], rows.messageOf),
    visibleTo: (viewerId, ids) =>
      ids.length === 0
        ? Effect.succeed([])
        : all("visibleTo", routingSql.visibleTo, [viewerId, ids], (r) => r.id as ConversationId)
  }
}
