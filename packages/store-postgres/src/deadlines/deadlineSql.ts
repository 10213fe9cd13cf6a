import type { Deadline, NewDeadline, StoreError, StoreTx } from "@dialogi/core"
import { Effect } from "effect"
import type { Row, SqlExecutor, Statement } from "../driver/SqlDriver.js"
import { toStoreError } from "../storeError.js"

/**
 * The NOTIFY channel that tells other instances a deadline due soon was armed; payload: the
 * earliest due time armed (epoch ms), a space, the kind.
 */
export const deadlinesChannel = "dialogi_deadlines"

/**
 * Arms due within this window NOTIFY other instances; later ones are found by the claim loops'
 * periodic re-check, which is never longer than this. NOTIFY serializes committing transactions
 * on the server, so far-future deadlines (most SLA deadlines) do not send one.
 */
export const notifyWindowMs = 60_000

const fixed = (name: string, text: string): Statement => ({ name: `dialogi_${name}`, text })

export const deadlineSql = {
  // Upsert by key; re-arming moves the deadline and resets its attempts. The CTE runs whatever
  // the outer SELECT reads; the outer SELECT notifies once per kind due within the window (by
  // the database's clock) with the earliest due time, so listeners sleeping towards an earlier
  // one need not look.
  arm: fixed(
    "arm_deadlines",
    `WITH armed AS (
       INSERT INTO dialogi_deadlines (key, kind, due_at, payload, attempts, last_error)
       SELECT key, kind, due_at, payload::jsonb, 0, NULL
       FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[]) AS t(key, kind, due_at, payload)
       ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, due_at = excluded.due_at,
         payload = excluded.payload, attempts = 0, last_error = NULL)
     SELECT pg_notify('${deadlinesChannel}', (extract(epoch FROM due) * 1000)::bigint || ' ' || kind) FROM (
       SELECT kind, min(due_at) AS due FROM unnest($2::text[], $3::timestamptz[]) AS t(kind, due_at)
       WHERE due_at < now() + interval '${notifyWindowMs / 1000} seconds' GROUP BY kind) soon`
  ),
  cancel: fixed("cancel_deadline", "DELETE FROM dialogi_deadlines WHERE key = $1 RETURNING key"),
  // A key range, not LIKE: a range on the C-collated primary key is an index scan whatever
  // characters the prefix holds, also under a generic plan.
  cancelRange: fixed(
    "cancel_deadline_range",
    "DELETE FROM dialogi_deadlines WHERE key >= $1 AND key < $2 RETURNING key"
  ),
  cancelFrom: fixed("cancel_deadline_from", "DELETE FROM dialogi_deadlines WHERE key >= $1 RETURNING key"),
  get: fixed(
    "get_deadline",
    "SELECT key, kind, due_at, payload, attempts FROM dialogi_deadlines WHERE key = $1"
  ),
  now: fixed("db_now", "SELECT now() AS now"),
  // now() is the transaction's start time and STABLE, so the planner compares the index with it
  // (clock_timestamp() is volatile and would turn this into a full scan). Deleting at claim time
  // means a handler may re-arm the same key and keep it.
  claim: fixed(
    "claim_deadlines",
    `DELETE FROM dialogi_deadlines WHERE key IN (
       SELECT key FROM dialogi_deadlines WHERE due_at <= now() AND kind = ANY($1::text[])
       ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED)
     RETURNING key, kind, due_at, payload, attempts`
  ),
  // The earliest deadline nobody is handling (rows locked by a claim are skipped), and how far
  // it is from the database's now.
  nearest: fixed(
    "nearest_deadline",
    `SELECT due_at, (extract(epoch FROM due_at - now()) * 1000)::float8 AS in_ms FROM dialogi_deadlines
     WHERE kind = ANY($1::text[]) ORDER BY due_at LIMIT 1 FOR KEY SHARE SKIP LOCKED`
  ),
  // A failed handler's deadline goes back, later; a re-arm that committed meanwhile wins.
  retry: fixed(
    "retry_deadline",
    `INSERT INTO dialogi_deadlines (key, kind, due_at, payload, attempts, last_error)
     VALUES ($1, $2, now() + $3::float8 * interval '1 millisecond', $4::text::jsonb, $5, $6)
     ON CONFLICT (key) DO NOTHING`
  )
}

/** A deadline row as the claim and get statements return it. */
export const deadlineOf = (row: Row): Deadline => ({
  key: row.key as string,
  kind: row.kind as string,
  dueAt: row.due_at instanceof Date ? row.due_at : new Date(row.due_at as string),
  payload: (typeof row.payload === "string" ? JSON.parse(row.payload) : row.payload) as Record<
    string,
    unknown
  >,
  attempts: Number(row.attempts)
})

/** The smallest string greater than every string that starts with `prefix` (code-point order). */
export const prefixEnd = (prefix: string): string | undefined => {
  const points = [...prefix].map((c) => c.codePointAt(0)!)
  while (points.length > 0) {
    const last = points.pop()!
    let next = last + 1
    if (next >= 0xd800 && next <= 0xdfff) next = 0xe000
    if (next <= 0x10ffff) return String.fromCodePoint(...points, next)
  }
  return undefined
}

/** The deadline operations of {@link StoreTx} on one executor. */
export const makeDeadlineOps = (
  executor: SqlExecutor,
  onArmed: (deadlines: ReadonlyArray<NewDeadline>) => void
): Pick<
  StoreTx,
  "armDeadlines" | "armDeadline" | "cancelDeadline" | "cancelDeadlines" | "getDeadline" | "now"
> => {
  const q = (operation: string, statement: Statement, params: ReadonlyArray<unknown>) =>
    Effect.tryPromise({
      try: () => executor.query(statement, params),
      catch: (error): StoreError => toStoreError(operation, error)
    })
  const armDeadlines = (deadlines: ReadonlyArray<NewDeadline>) => {
    if (deadlines.length === 0) return Effect.void
    // One row per key (the last one wins): an upsert cannot touch a row twice in one statement.
    const byKey = new Map<string, NewDeadline>()
    for (const d of deadlines) {
      byKey.delete(d.key)
      byKey.set(d.key, d)
    }
    const list = [...byKey.values()]
    return q("armDeadlines", deadlineSql.arm, [
      list.map((d) => d.key),
      list.map((d) => d.kind),
      list.map((d) => d.dueAt.toISOString()),
      list.map((d) => JSON.stringify(d.payload))
    ]).pipe(
      Effect.tap(() => Effect.sync(() => onArmed(list))),
      Effect.asVoid
    )
  }
  return {
    armDeadlines,
    armDeadline: (d) => armDeadlines([d]),
    cancelDeadline: (key) => Effect.map(q("cancelDeadline", deadlineSql.cancel, [key]), (r) => r.length > 0),
    cancelDeadlines: (prefix) => {
      const end = prefixEnd(prefix)
      return Effect.map(
        end === undefined
          ? q("cancelDeadlines", deadlineSql.cancelFrom, [prefix])
          : q("cancelDeadlines", deadlineSql.cancelRange, [prefix, end]),
        (r) => r.length
      )
    },
    getDeadline: (key) =>
      Effect.map(q("getDeadline", deadlineSql.get, [key]), (r) =>
        r[0] === undefined ? undefined : deadlineOf(r[0])
      ),
    now: () =>
      Effect.map(q("now", deadlineSql.now, []), (r) => {
        const value = r[0]?.now
        return value instanceof Date ? value : new Date(value as string)
      })
  }
}
