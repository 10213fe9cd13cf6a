/**
 * Durable deadlines (SLA warnings and breaches, handoff acceptance, callbacks): one row per
 * armed deadline, upserted by key, claimed by due time with FOR UPDATE SKIP LOCKED and deleted
 * in the transaction that handles it.
 */
export const sql = `
CREATE TABLE dialogi_deadlines (
  key text COLLATE "C" PRIMARY KEY,
  kind text NOT NULL,
  due_at timestamptz NOT NULL,
  payload jsonb NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  last_error text
);
-- The claim (due_at <= now() ORDER BY due_at LIMIT n) and the nearest-due probe walk this index
-- from its start; the kind filter is checked on the rows it meets.
CREATE INDEX dialogi_deadlines_due ON dialogi_deadlines (due_at);
`
