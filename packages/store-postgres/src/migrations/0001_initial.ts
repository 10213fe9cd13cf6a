/**
 * The first schema. Ids compare with the C collation so that SQL ordering matches the
 * code-point ordering of the in-memory store and of listing cursors.
 */
export const sql = `
CREATE TABLE dialogi_contacts (
  id text COLLATE "C" PRIMARY KEY,
  name text,
  attributes jsonb NOT NULL,
  merged_into text COLLATE "C",
  created_at timestamptz NOT NULL
);

CREATE TABLE dialogi_identities (
  channel text NOT NULL,
  address text NOT NULL,
  contact_id text COLLATE "C" NOT NULL,
  verified boolean NOT NULL,
  position bigint GENERATED ALWAYS AS IDENTITY,
  PRIMARY KEY (channel, address)
);
CREATE INDEX dialogi_identities_contact ON dialogi_identities (contact_id, position);

CREATE TABLE dialogi_merges (
  id text COLLATE "C" PRIMARY KEY,
  survivor_id text COLLATE "C" NOT NULL,
  absorbed_id text COLLATE "C" NOT NULL,
  reason text NOT NULL,
  moved_identities jsonb NOT NULL,
  moved_conversations text[] NOT NULL,
  created_at timestamptz NOT NULL,
  undone_at timestamptz
);

CREATE TABLE dialogi_conversations (
  id text COLLATE "C" PRIMARY KEY,
  contact_id text COLLATE "C" NOT NULL,
  status text NOT NULL,
  assignee_kind text NOT NULL,
  assignee_id text,
  priority text NOT NULL,
  tags text[] NOT NULL,
  external_refs jsonb NOT NULL,
  last_inbound_channel text,
  last_inbound_at timestamptz,
  last_message_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE INDEX dialogi_conversations_activity ON dialogi_conversations (last_message_at DESC, id DESC);
CREATE INDEX dialogi_conversations_contact ON dialogi_conversations (contact_id, last_message_at DESC, id DESC);
-- findOpenConversations: one probe per contact to its newest non-resolved conversation, however
-- many resolved ones the contact has behind it.
CREATE INDEX dialogi_conversations_open ON dialogi_conversations (contact_id, last_message_at DESC, id DESC)
  WHERE status <> 'resolved';
CREATE INDEX dialogi_conversations_status ON dialogi_conversations (status, last_message_at DESC, id DESC);
CREATE INDEX dialogi_conversations_assignee
  ON dialogi_conversations (assignee_kind, assignee_id, last_message_at DESC, id DESC);
CREATE INDEX dialogi_conversations_tags ON dialogi_conversations USING gin (tags);

CREATE TABLE dialogi_messages (
  id text COLLATE "C" PRIMARY KEY,
  conversation_id text COLLATE "C" NOT NULL,
  direction text NOT NULL,
  author jsonb NOT NULL,
  channel text NOT NULL,
  parts jsonb NOT NULL,
  visibility text NOT NULL,
  provider_message_id text,
  status jsonb NOT NULL,
  created_at timestamptz NOT NULL,
  sent_at timestamptz NOT NULL,
  metadata jsonb NOT NULL
);
-- The dedupe key of provider retries; permanent on purpose (no TTL): a provider may replay a
-- webhook days later, and NULLs (no provider id yet) never collide.
CREATE UNIQUE INDEX dialogi_messages_provider_id ON dialogi_messages (channel, provider_message_id);
CREATE INDEX dialogi_messages_thread ON dialogi_messages (conversation_id, sent_at, id);
CREATE INDEX dialogi_messages_channel ON dialogi_messages (conversation_id, channel, direction, sent_at DESC);

CREATE TABLE dialogi_events (
  seq bigint PRIMARY KEY,
  at timestamptz NOT NULL,
  body jsonb NOT NULL,
  conversation_id text COLLATE "C",
  contact_id text COLLATE "C"
);
CREATE INDEX dialogi_events_conversation ON dialogi_events (conversation_id, seq) WHERE conversation_id IS NOT NULL;

-- One row holding the last assigned event number. Its row lock, taken by appendEvents and held
-- until commit, is what makes numbers gap-free in commit order.
CREATE TABLE dialogi_event_head (
  id smallint PRIMARY KEY CHECK (id = 1),
  seq bigint NOT NULL
);
INSERT INTO dialogi_event_head (id, seq) VALUES (1, 0);
`
