/**
 * SLA state: one clock row per conversation (the running and paused clocks as jsonb, written
 * whole in the transaction of the change that moves them), one outcome row per finished clock
 * cycle for reports, and every policy version clocks have started under.
 */
export const sql = `
CREATE TABLE dialogi_sla_clocks (
  conversation_id text COLLATE "C" PRIMARY KEY,
  state jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- One row per clock cycle: inserted when the cycle is met or breached; a breached cycle gets
-- its business time when it finally stops.
CREATE TABLE dialogi_sla_outcomes (
  conversation_id text COLLATE "C" NOT NULL,
  target text NOT NULL,
  started_at timestamptz NOT NULL,
  policy_id text NOT NULL,
  channel text,
  team text,
  agent text,
  at timestamptz NOT NULL,
  due_at timestamptz,
  breached boolean NOT NULL,
  business_ms double precision,
  PRIMARY KEY (conversation_id, target, started_at)
);
-- Reports select a period of decisions.
CREATE INDEX dialogi_sla_outcomes_at ON dialogi_sla_outcomes (at);

CREATE TABLE dialogi_sla_policies (
  id text COLLATE "C" NOT NULL,
  version text COLLATE "C" NOT NULL,
  policy jsonb NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id, version)
);
`
