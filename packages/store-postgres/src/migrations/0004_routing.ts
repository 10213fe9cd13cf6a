/**
 * Routing and handoff: teams, participants (agents and bots), each conversation's team and
 * queue place, handoffs and callbacks. Loads are not stored: they are counted from the
 * conversations under the row locks routing takes, so they can never drift.
 */
export const sql = `
CREATE TABLE dialogi_teams (
  id text COLLATE "C" PRIMARY KEY,
  name text NOT NULL,
  strategy text NOT NULL,
  overflow_after_ms bigint,
  overflow_team_id text COLLATE "C",
  -- Round robin position: the member picked last. Not touched by upserts of the settings.
  round_robin_last text COLLATE "C",
  updated_at timestamptz NOT NULL
);

CREATE TABLE dialogi_participants (
  id text COLLATE "C" PRIMARY KEY,
  kind text NOT NULL,
  name text,
  role text NOT NULL,
  teams text[] NOT NULL,
  skills text[] NOT NULL,
  capacity integer NOT NULL,
  availability text NOT NULL,
  calendar jsonb,
  updated_at timestamptz NOT NULL
);
CREATE INDEX dialogi_participants_teams ON dialogi_participants USING gin (teams);

CREATE TABLE dialogi_routing (
  conversation_id text COLLATE "C" PRIMARY KEY,
  team_id text COLLATE "C" NOT NULL,
  queued boolean NOT NULL,
  priority smallint NOT NULL,
  skills text[] NOT NULL,
  queued_at timestamptz NOT NULL
);
-- A team's queue in order; only waiting rows are indexed.
CREATE INDEX dialogi_routing_queue ON dialogi_routing (team_id, priority, queued_at, conversation_id) WHERE queued;
CREATE INDEX dialogi_routing_team ON dialogi_routing (team_id);

CREATE TABLE dialogi_handoffs (
  id text COLLATE "C" PRIMARY KEY,
  conversation_id text COLLATE "C" NOT NULL,
  state text NOT NULL,
  requested_at timestamptz NOT NULL,
  body jsonb NOT NULL
);
-- At most one handoff per conversation waits for acceptance.
CREATE UNIQUE INDEX dialogi_handoffs_pending ON dialogi_handoffs (conversation_id) WHERE state = 'requested';
CREATE INDEX dialogi_handoffs_conversation ON dialogi_handoffs (conversation_id, requested_at, id);

CREATE TABLE dialogi_callbacks (
  id text COLLATE "C" PRIMARY KEY,
  conversation_id text COLLATE "C" NOT NULL,
  state text NOT NULL,
  window_from timestamptz NOT NULL,
  body jsonb NOT NULL
);
CREATE INDEX dialogi_callbacks_conversation ON dialogi_callbacks (conversation_id, window_from, id);
`
