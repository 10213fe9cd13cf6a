/**
 * CSAT: one row per survey sent after a resolution, updated in place when the customer answers
 * (or writes something else, which skips it). Reports aggregate it by the period of the request.
 */
export const sql = `
CREATE TABLE dialogi_csat_surveys (
  id text COLLATE "C" PRIMARY KEY,
  conversation_id text COLLATE "C" NOT NULL,
  contact_id text COLLATE "C" NOT NULL,
  channel text NOT NULL,
  scale text NOT NULL,
  message_id text COLLATE "C" NOT NULL,
  team text,
  agent text,
  requested_at timestamptz NOT NULL,
  state text NOT NULL,
  rating smallint,
  satisfied boolean,
  comment text,
  answered_at timestamptz,
  answer_message_id text COLLATE "C"
);
-- Every inbound message of a contact asks for its newest pending survey: only pending rows
-- are indexed, so the index stays as small as the surveys waiting for an answer.
CREATE INDEX dialogi_csat_pending ON dialogi_csat_surveys (contact_id, requested_at DESC, id DESC)
  WHERE state = 'pending';
CREATE INDEX dialogi_csat_conversation ON dialogi_csat_surveys (conversation_id, requested_at DESC, id DESC);
-- Reports select a period of requests.
CREATE INDEX dialogi_csat_requested ON dialogi_csat_surveys (requested_at);
`
