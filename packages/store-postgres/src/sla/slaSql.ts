import {
  type ConversationId,
  decodeClockState,
  encodeClockState,
  type SlaClockRow,
  type SlaOutcome,
  type SlaReportGroup,
  type SlaReportLine,
  type SlaTarget,
  type StoreError,
  type StoreTx
} from "@dialogi/core"
import { Effect } from "effect"
import type { Row, Statement } from "../driver/SqlDriver.js"
import { conversationOf } from "../rows.js"

const fixed = (name: string, text: string): Statement => ({ name: `dialogi_${name}`, text })

// The report's group column per `groupBy`: a fixed statement each, never text from the caller.
const reportColumn: Record<SlaReportGroup, string> = {
  policy: "policy_id",
  channel: "channel",
  team: "team",
  agent: "agent"
}

const report = (group: SlaReportGroup) =>
  fixed(
    `sla_report_${group}`,
    // percentile_cont skips NULLs: a breached cycle still running has no business time yet.
    `SELECT ${reportColumn[group]} AS grp, target, count(*)::int AS cycles,
       count(*) FILTER (WHERE breached)::int AS breaches,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY business_ms) AS p50,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY business_ms) AS p90
     FROM dialogi_sla_outcomes WHERE at >= $1 AND at < $2
     GROUP BY 1, 2`
  )

export const slaSql = {
  // Clock rows are locked until commit (read, change, write), in id order so that two
  // transactions locking overlapping sets cannot deadlock. The LEFT JOIN from one row returns the
  // database's now() even when no clock row exists; conversations come along when $2 asks.
  getClocks: fixed(
    "sla_get_clocks",
    `WITH locked AS (
       SELECT conversation_id, state FROM dialogi_sla_clocks WHERE conversation_id = ANY($1::text[])
       ORDER BY conversation_id FOR UPDATE)
     SELECT now() AS now, l.conversation_id, l.state, NULL::jsonb AS conversation
     FROM (SELECT 1) one LEFT JOIN locked l ON true
     UNION ALL
     SELECT now(), NULL, NULL, to_jsonb(c) FROM dialogi_conversations c WHERE $2::bool AND c.id = ANY($1::text[])`
  ),
  // Clock rows ($1-$2) and outcomes ($3-$13) in one statement; either list may be empty.
  putClocks: fixed(
    "sla_put_clocks",
    `WITH clocks AS (
       INSERT INTO dialogi_sla_clocks (conversation_id, state, updated_at)
       SELECT id, state::jsonb, now() FROM unnest($1::text[], $2::text[]) AS t(id, state)
       ON CONFLICT (conversation_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at
       RETURNING 1),
     outcomes AS (
       INSERT INTO dialogi_sla_outcomes AS o (conversation_id, target, started_at, policy_id, channel, team, agent,
         at, due_at, breached, business_ms)
       SELECT * FROM unnest($3::text[], $4::text[], $5::timestamptz[], $6::text[], $7::text[], $8::text[],
         $9::text[], $10::timestamptz[], $11::timestamptz[], $12::bool[], $13::float8[])
       ON CONFLICT (conversation_id, target, started_at) DO UPDATE
         SET breached = o.breached OR excluded.breached, business_ms = coalesce(excluded.business_ms, o.business_ms)
       RETURNING 1)
     SELECT (SELECT count(*) FROM clocks) AS clocks, (SELECT count(*) FROM outcomes) AS outcomes`
  ),
  recordPolicies: fixed(
    "sla_record_policies",
    `INSERT INTO dialogi_sla_policies (id, version, policy)
     SELECT id, version, policy::jsonb FROM unnest($1::text[], $2::text[], $3::text[]) AS t(id, version, policy)
     ON CONFLICT (id, version) DO NOTHING RETURNING id, version, policy`
  ),
  getPolicies: fixed(
    "sla_get_policies",
    `SELECT p.id, p.version, p.policy FROM dialogi_sla_policies p
     WHERE (p.id, p.version) IN (SELECT * FROM unnest($1::text[], $2::text[]))`
  ),
  report: {
    policy: report("policy"),
    channel: report("channel"),
    team: report("team"),
    agent: report("agent")
  } satisfies Record<SlaReportGroup, Statement>
}

type Query = (
  operation: string,
  statement: Statement,
  params: ReadonlyArray<unknown>
) => Effect.Effect<ReadonlyArray<Row>, StoreError>

const json = (value: unknown): unknown => (typeof value === "string" ? JSON.parse(value) : value)
const date = (value: unknown): Date => (value instanceof Date ? value : new Date(value as string))
const numberOrNull = (value: unknown): number | null =>
  value === null || value === undefined ? null : Number(value)

/** One row per key, the last one winning (an upsert cannot touch a row twice in one statement). */
const lastByKey = <A>(items: ReadonlyArray<A>, key: (a: A) => string): A[] => {
  const byKey = new Map<string, A>()
  for (const item of items) {
    byKey.delete(key(item))
    byKey.set(key(item), item)
  }
  return [...byKey.values()]
}

/** Outcomes of the same cycle merged as the upsert merges them with a stored one. */
const mergeOutcomes = (outcomes: ReadonlyArray<SlaOutcome>): SlaOutcome[] => {
  const byKey = new Map<string, SlaOutcome>()
  for (const o of outcomes) {
    const key = `${o.conversationId} ${o.target} ${o.startedAt.getTime()}`
    const before = byKey.get(key)
    byKey.set(
      key,
      before === undefined
        ? o
        : {
            ...before,
            breached: before.breached || o.breached,
            businessMs: o.businessMs ?? before.businessMs
          }
    )
  }
  return [...byKey.values()]
}

const outcomeColumns = (list: ReadonlyArray<SlaOutcome>): unknown[] => [
  list.map((o) => o.conversationId),
  list.map((o) => o.target),
  list.map((o) => o.startedAt),
  list.map((o) => o.policyId),
  list.map((o) => o.channel ?? null),
  list.map((o) => o.team ?? null),
  list.map((o) => o.agent ?? null),
  list.map((o) => o.at),
  list.map((o) => o.dueAt ?? null),
  list.map((o) => o.breached),
  list.map((o) => o.businessMs ?? null)
]

/** The SLA operations of {@link StoreTx}, one statement each. */
export const makeSlaOps = (
  q: Query
): Pick<StoreTx, "getSlaClocks" | "putSlaClocks" | "recordSlaPolicies" | "getSlaPolicies" | "slaReport"> => ({
  getSlaClocks: (ids, options) =>
    Effect.map(
      q("getSlaClocks", slaSql.getClocks, [[...new Set(ids)], options?.withConversations === true]),
      (result) => ({
        now: date(result[0]!.now),
        rows: result
          .filter((r) => r.conversation_id !== null && r.conversation_id !== undefined)
          .map(
            (r): SlaClockRow => ({
              conversationId: r.conversation_id as ConversationId,
              state: decodeClockState(json(r.state))
            })
          ),
        conversations: result
          .filter((r) => r.conversation !== null && r.conversation !== undefined)
          .map((r) => conversationOf(json(r.conversation) as Row))
      })
    ),
  putSlaClocks: (rows, outcomes = []) => {
    if (rows.length === 0 && outcomes.length === 0) return Effect.void
    const list = lastByKey(rows, (r) => r.conversationId)
    const merged = mergeOutcomes(outcomes)
    return Effect.asVoid(
      q("putSlaClocks", slaSql.putClocks, [
        list.map((r) => r.conversationId),
        list.map((r) => JSON.stringify(encodeClockState(r.state))),
        ...outcomeColumns(merged)
      ])
    )
  },
  recordSlaPolicies: (policies) => {
    if (policies.length === 0) return Effect.succeed([])
    const list = lastByKey(policies, (p) => `${p.id} ${p.version}`)
    return Effect.map(
      q("recordSlaPolicies", slaSql.recordPolicies, [
        list.map((p) => p.id),
        list.map((p) => p.version),
        list.map((p) => JSON.stringify(p.policy))
      ]),
      (result) =>
        result.map((r) => ({ id: r.id as string, version: r.version as string, policy: json(r.policy) }))
    )
  },
  getSlaPolicies: (keys) =>
    keys.length === 0
      ? Effect.succeed([])
      : Effect.map(
          q("getSlaPolicies", slaSql.getPolicies, [keys.map((k) => k.id), keys.map((k) => k.version)]),
          (result) =>
            result.map((r) => ({ id: r.id as string, version: r.version as string, policy: json(r.policy) }))
        ),
  slaReport: (query) =>
    Effect.map(
      q("slaReport", slaSql.report[query.groupBy], [query.from, query.to]),
      (result): ReadonlyArray<SlaReportLine> =>
        result.map((r) => ({
          group: (r.grp as string | null) ?? null,
          target: r.target as SlaTarget,
          cycles: Number(r.cycles),
          breaches: Number(r.breaches),
          p50Ms: numberOrNull(r.p50),
          p90Ms: numberOrNull(r.p90)
        }))
    )
})
