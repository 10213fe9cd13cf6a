import { Context, type Effect, type Scope } from "effect"
import type { CsatTx } from "../csat/CsatStore.js"
import type { Contact, Identity } from "../domain/Contact.js"
import type { Assignee, Conversation, ConversationStatus } from "../domain/Conversation.js"
import type { StoreError } from "../domain/Errors.js"
import type { DialogiEvent, EventBody } from "../domain/Event.js"
import type { ContactId, ConversationId, MergeId, MessageId } from "../domain/Ids.js"
import type { DeliveryStatus, Message } from "../domain/Message.js"
import type { RoutingTx } from "../routing/RoutingStore.js"
import type {
  SlaClockRow,
  SlaOutcome,
  SlaPolicyRecord,
  SlaReportLine,
  SlaReportQuery
} from "../sla/SlaClock.js"

/** An identity's key: its channel and normalized address. */
export interface IdentityKey {
  readonly channel: string
  readonly address: string
}

/** A provider message's key: the permanent dedupe key on its channel. */
export interface ProviderMessageKey {
  readonly channel: string
  readonly providerMessageId: string
}

/** A message to insert with the channel-specific facts kept beside it. */
export interface NewMessage {
  readonly message: Message
  readonly metadata: Readonly<Record<string, unknown>>
}

/** Where an identity points. */
export interface IdentityRow {
  readonly contactId: ContactId
  readonly identity: Identity
}

/** An audited merge: enough to undo it exactly. */
export interface MergeRecord {
  readonly id: MergeId
  readonly survivorId: ContactId
  readonly absorbedId: ContactId
  readonly reason: string
  /** Identities that moved from the absorbed contact to the survivor. */
  readonly movedIdentities: ReadonlyArray<Identity>
  readonly movedConversations: ReadonlyArray<ConversationId>
  readonly createdAt: Date
  readonly undoneAt?: Date | undefined
}

/** Filters for listing conversations; all given filters must match. */
export interface ConversationFilter {
  readonly status?: ConversationStatus | ReadonlyArray<ConversationStatus> | undefined
  readonly assignee?: Assignee | undefined
  readonly contactId?: ContactId | undefined
  readonly channel?: string | undefined
  readonly tag?: string | undefined
  /**
   * Only what this participant may see (see {@link RoutingTx.visibleTo}): a host passes the
   * acting participant here and visibility is enforced in the query itself.
   */
  readonly visibleTo?: string | undefined
}

/** Narrows {@link StoreTx.eventsAfter}; no filter reads the whole log. */
export interface EventFilter {
  /** Only events of this conversation (events without a conversation never match). */
  readonly conversationId?: ConversationId | undefined
}

/** A page of conversations, newest activity first. */
export interface ConversationPage {
  readonly items: ReadonlyArray<Conversation>
  /** Pass as `after` for the next page; absent on the last page. */
  readonly next?: string | undefined
}

/** A job for the durable queue, written in the same transaction as the change that needs it. */
export interface NewJob {
  readonly queue: string
  readonly payload: Readonly<Record<string, unknown>>
  /** Jobs with the same key are only enqueued once. */
  readonly key?: string | undefined
  readonly runAt?: Date | undefined
}

/** A job handed to a worker. */
export interface Job {
  readonly id: string
  readonly queue: string
  readonly payload: Readonly<Record<string, unknown>>
  /** 1 on the first run. */
  readonly attempt: number
  /** True when no retry remains after this attempt. */
  readonly lastAttempt: boolean
}

/** How a queue retries. */
export interface QueuePolicy {
  readonly retryLimit: number
  readonly retryDelayMs: number
  /** Exponential backoff (delay doubles per attempt, with jitter). */
  readonly backoff: boolean
}

/** A failed job run that the queue should retry (after `delayMs` when given). */
export interface JobRetry {
  readonly _tag: "JobRetry"
  readonly reason: string
  readonly delayMs?: number | undefined
}

/** A job that exhausted its retries, kept for inspection and replay. */
export interface DeadJob {
  readonly id: string
  readonly queue: string
  readonly payload: Readonly<Record<string, unknown>>
  readonly reason: string
  readonly attempts: number
}

/**
 * A deadline to arm: fires once at `dueAt` (by the database's clock) unless cancelled or moved
 * first. Keys name what the deadline is for, e.g. `sla:<conversationId>:first_response:breach`.
 */
export interface NewDeadline {
  readonly key: string
  /** What fires it: `runDeadlines` claims deadlines by kind (`sla`, `handoff`, `callback`). */
  readonly kind: string
  readonly dueAt: Date
  readonly payload: Readonly<Record<string, unknown>>
}

/** An armed deadline. */
export interface Deadline extends NewDeadline {
  /** Failed runs so far (0 until a handler has failed on it); re-arming resets it. */
  readonly attempts: number
}

/** How `runDeadlines` claims and retries. */
export interface DeadlineRunOptions {
  /** Deadlines claimed per transaction; default and (on SQL stores, one savepoint each) maximum 50. */
  readonly batchSize?: number | undefined
  /** Claim loops run in parallel (each its own transaction); default 1. */
  readonly concurrency?: number | undefined
  /**
   * Longest sleep between checks, in ms; default 60,000. Sleeps are never one long timer: the
   * loop wakes at the nearest due time or after this, whichever is first, and looks again.
   */
  readonly maxWaitMs?: number | undefined
  /** Delay before the first retry of a failed deadline, doubling per attempt; default 1,000 ms. */
  readonly retryDelayMs?: number | undefined
  /** Ceiling of the retry delay; default 300,000 ms. */
  readonly maxRetryDelayMs?: number | undefined
  /** Told after each claim: how many deadlines it took and how long the claim took, in ms. */
  readonly onClaim?: ((claimed: number, ms: number) => void) | undefined
  /** Told about handler failures (the deadline is retried) and claim errors (the loop retries). */
  readonly onError?: ((error: unknown, deadline?: Deadline) => void) | undefined
  /**
   * Called once per claimed batch, in its transaction, before the handlers: lets them read what
   * the whole batch needs in one statement instead of one per deadline. A failure fails the batch.
   */
  readonly prefetch?:
    | ((deadlines: ReadonlyArray<Deadline>, tx: StoreTx) => Effect.Effect<void, StoreError>)
    | undefined
  /**
   * Called once per claimed batch, in its transaction, after the handlers and before commit:
   * lets handlers that buffered their writes flush them in bulk. A failure fails the batch.
   */
  readonly beforeCommit?: ((tx: StoreTx) => Effect.Effect<void, StoreError>) | undefined
}

/** The delay before the retry that follows failure number `attempts` (1-based). */
export const deadlineRetryDelay = (options: DeadlineRunOptions | undefined, attempts: number): number =>
  Math.min(
    options?.maxRetryDelayMs ?? 300_000,
    (options?.retryDelayMs ?? 1000) * 2 ** Math.max(0, Math.min(30, attempts - 1))
  )

/** What ingest needs of a stored message: where it is (dedupe and threading by provider id). */
export type MessageRef = Pick<Message, "id" | "conversationId" | "channel" | "providerMessageId">

/** Rows an ingest batch needs before it can decide anything. */
export interface IngestLookup {
  /** Stored messages among the keys: whole messages or only their {@link MessageRef} part. */
  readonly messages: ReadonlyArray<MessageRef>
  readonly identities: ReadonlyArray<IdentityRow>
  /** When asked (`findForIngest`'s `conversations`): what `findConversationsForIngest` would answer. */
  readonly conversations?: IngestConversations | undefined
}

/** Conversations an ingest batch may join. */
export interface IngestConversations {
  /** At most one per contact: its most recently active conversation that is not resolved. */
  readonly open: ReadonlyArray<Conversation>
  /** The conversations asked for by id (threading hints, replied-to messages). */
  readonly byId: ReadonlyArray<Conversation>
  /**
   * When asked (`withSlaClocks`): the SLA clock rows of every conversation above, locked as
   * {@link StoreTx.getSlaClocks} locks them, and the store's time; a conversation without a row
   * has no clock yet.
   */
  readonly slaClocks?: { readonly now: Date; readonly rows: ReadonlyArray<SlaClockRow> } | undefined
}

/** Everything an ingest batch writes. */
export interface IngestWrites {
  readonly contacts: ReadonlyArray<Contact>
  readonly newConversations: ReadonlyArray<Conversation>
  readonly updatedConversations: ReadonlyArray<Conversation>
  readonly messages: ReadonlyArray<NewMessage>
  /** Appended last, after every row above; may be empty. */
  readonly events: ReadonlyArray<EventBody>
  readonly at: Date
  /** SLA clock rows the batch started or resumed, upserted in one statement (absent: none). */
  readonly slaClocks?: ReadonlyArray<SlaClockRow> | undefined
  /** Deadlines the batch arms (SLA warnings, breaches, acknowledgements), in one statement. */
  readonly deadlines?: ReadonlyArray<NewDeadline> | undefined
}

/**
 * The operations available inside one store transaction. Everything the hub writes for one
 * change goes through one of these, so it commits or rolls back as a whole.
 */
export interface StoreTx {
  /**
   * Serializes transactions that touch the same keys until commit (provider message ids,
   * identities, contacts), across every hub instance on the database.
   */
  readonly lock: (keys: ReadonlyArray<string>) => Effect.Effect<void, StoreError>

  // Bulk reads and writes take and return arrays so that one statement serves a whole ingest
  // batch (group commit): round trips, not rows, are what an ingest costs.

  /** The identities among `keys` that exist (any order; missing keys are simply absent). */
  readonly findIdentities: (
    keys: ReadonlyArray<IdentityKey>
  ) => Effect.Effect<ReadonlyArray<IdentityRow>, StoreError>
  readonly getContact: (id: ContactId) => Effect.Effect<Contact | undefined, StoreError>
  /** Inserts contacts together with their identities. */
  readonly insertContacts: (contacts: ReadonlyArray<Contact>) => Effect.Effect<void, StoreError>
  readonly addIdentity: (contactId: ContactId, identity: Identity) => Effect.Effect<void, StoreError>
  readonly setIdentityVerified: (channel: string, address: string) => Effect.Effect<void, StoreError>
  /** Moves identities (matched by channel + address) to another contact. */
  readonly moveIdentities: (
    to: ContactId,
    identities: ReadonlyArray<Identity>
  ) => Effect.Effect<void, StoreError>
  readonly setMergedInto: (id: ContactId, into: ContactId | undefined) => Effect.Effect<void, StoreError>
  readonly insertMerge: (merge: MergeRecord) => Effect.Effect<void, StoreError>
  readonly getMerge: (id: MergeId) => Effect.Effect<MergeRecord | undefined, StoreError>
  readonly markMergeUndone: (id: MergeId, at: Date) => Effect.Effect<void, StoreError>

  /** The conversations among `ids` that exist (any order). */
  readonly getConversations: (
    ids: ReadonlyArray<ConversationId>
  ) => Effect.Effect<ReadonlyArray<Conversation>, StoreError>
  /**
   * For each contact that has one, its most recently active conversation that is not resolved
   * (newest `lastMessageAt`, then highest id): at most one per contact.
   */
  readonly findOpenConversations: (
    contactIds: ReadonlyArray<ContactId>
  ) => Effect.Effect<ReadonlyArray<Conversation>, StoreError>
  readonly conversationsOf: (contactId: ContactId) => Effect.Effect<ReadonlyArray<ConversationId>, StoreError>
  readonly moveConversations: (
    ids: ReadonlyArray<ConversationId>,
    to: ContactId
  ) => Effect.Effect<void, StoreError>
  readonly insertConversations: (
    conversations: ReadonlyArray<Conversation>
  ) => Effect.Effect<void, StoreError>
  /** Writes whole rows; the hub reads, changes and writes inside one transaction. */
  readonly updateConversations: (
    conversations: ReadonlyArray<Conversation>
  ) => Effect.Effect<void, StoreError>
  readonly listConversations: (
    filter: ConversationFilter,
    page: { readonly after?: string | undefined; readonly limit: number }
  ) => Effect.Effect<ConversationPage, StoreError>

  /** The messages among `keys` that exist (any order). */
  readonly findMessagesByProviderIds: (
    keys: ReadonlyArray<ProviderMessageKey>
  ) => Effect.Effect<ReadonlyArray<Message>, StoreError>
  readonly getMessage: (id: MessageId) => Effect.Effect<Message | undefined, StoreError>
  /**
   * Inserts messages and returns the ids of those inserted: a message whose
   * (channel, providerMessageId) already exists is skipped and changes nothing.
   */
  readonly insertMessages: (
    messages: ReadonlyArray<NewMessage>
  ) => Effect.Effect<ReadonlyArray<MessageId>, StoreError>
  readonly setMessageStatus: (
    id: MessageId,
    status: DeliveryStatus,
    providerMessageId?: string | undefined
  ) => Effect.Effect<void, StoreError>
  /** The latest inbound message of a conversation on a channel. */
  readonly lastInbound: (
    conversationId: ConversationId,
    channel: string
  ) => Effect.Effect<Message | undefined, StoreError>
  /** Every message of the conversations, in the order they happened. */
  readonly thread: (ids: ReadonlyArray<ConversationId>) => Effect.Effect<ReadonlyArray<Message>, StoreError>

  /**
   * Appends events. Sequence numbers are assigned gap-free in commit order, so a reader of
   * "after N" never skips an event that commits later with a smaller number.
   */
  readonly appendEvents: (
    bodies: ReadonlyArray<EventBody>,
    at: Date
  ) => Effect.Effect<ReadonlyArray<DialogiEvent>, StoreError>
  /**
   * Events after `seq`, oldest first, at most `limit`. With `conversationId`, only that
   * conversation's events (PostgreSQL reads them through the (conversation_id, seq) index), so a
   * reader of one thread does not page through everyone else's events.
   */
  readonly eventsAfter: (
    seq: number,
    limit: number,
    filter?: EventFilter
  ) => Effect.Effect<ReadonlyArray<DialogiEvent>, StoreError>

  readonly enqueueJob: (job: NewJob) => Effect.Effect<void, StoreError>

  // Deadlines: durable timers armed in the transaction of the change that needs them, so they
  // commit or roll back with it. Fired by StoreService.runDeadlines.

  /**
   * Arms deadlines, upserting by key: arming a key that is armed moves it to the new due time,
   * kind and payload (and resets its failed attempts). With repeated keys the last one wins.
   */
  readonly armDeadlines: (deadlines: ReadonlyArray<NewDeadline>) => Effect.Effect<void, StoreError>
  /** Arms one deadline; see {@link armDeadlines}. */
  readonly armDeadline: (deadline: NewDeadline) => Effect.Effect<void, StoreError>
  /** Cancels a deadline; true when one was armed. */
  readonly cancelDeadline: (key: string) => Effect.Effect<boolean, StoreError>
  /** Cancels every deadline whose key starts with `prefix` (e.g. `sla:<conversationId>:`); returns how many. */
  readonly cancelDeadlines: (prefix: string) => Effect.Effect<number, StoreError>
  readonly getDeadline: (key: string) => Effect.Effect<Deadline | undefined, StoreError>
  /**
   * The store's clock: the database's `now()` (the transaction's start time) on SQL stores.
   * Due times are compared with this clock, never with the app server's.
   */
  readonly now: () => Effect.Effect<Date, StoreError>

  /** Participants, teams, queues, handoffs and callbacks, in this transaction. */
  readonly routing: RoutingTx

  /** CSAT surveys and their answers, in this transaction. */
  readonly csat: CsatTx

  // SLA state: one clock row per conversation, the outcome of every finished clock cycle (for
  // reports), and the policy versions clocks refer to.

  /**
   * The SLA clock rows of these conversations (missing ones are absent) and the store's clock
   * (as {@link now}) in the same round trip, for the transitions that need both.
   */
  readonly getSlaClocks: (
    conversationIds: ReadonlyArray<ConversationId>,
    options?: {
      /** Also return the conversations (one statement instead of two). */
      readonly withConversations?: boolean | undefined
    }
  ) => Effect.Effect<
    {
      readonly now: Date
      /** Locked until commit (FOR UPDATE on SQL stores): clock transitions read, change, write. */
      readonly rows: ReadonlyArray<SlaClockRow>
      readonly conversations: ReadonlyArray<Conversation>
    },
    StoreError
  >
  /**
   * Upserts clock rows by conversation (with repeated ids the last one wins) and records
   * outcomes, one per (conversation, target, startedAt), in one statement. An outcome already
   * recorded keeps its `at`, `breached` becomes true if either says so, and a `businessMs` given
   * fills in.
   */
  readonly putSlaClocks: (
    rows: ReadonlyArray<SlaClockRow>,
    outcomes?: ReadonlyArray<SlaOutcome>
  ) => Effect.Effect<void, StoreError>
  /** Records policy versions; returns those that were not recorded before (by id and version). */
  readonly recordSlaPolicies: (
    policies: ReadonlyArray<SlaPolicyRecord>
  ) => Effect.Effect<ReadonlyArray<SlaPolicyRecord>, StoreError>
  /** The recorded policy versions among `keys`. */
  readonly getSlaPolicies: (
    keys: ReadonlyArray<{ readonly id: string; readonly version: string }>
  ) => Effect.Effect<ReadonlyArray<SlaPolicyRecord>, StoreError>
  /**
   * Outcomes decided in `[from, to)`, aggregated per group and target by the store (in SQL on
   * SQL stores): cycles, breaches and the 50th/90th percentiles of business time.
   */
  readonly slaReport: (query: SlaReportQuery) => Effect.Effect<ReadonlyArray<SlaReportLine>, StoreError>

  // Ingest composites: what a group-commit batch does, in as few round trips as the store can.
  // A store may implement them with the methods above; the SQL store makes each one statement,
  // because a batch's cost is its round trips.

  /**
   * The messages among `messages` and the identities among `identities`; also locks, until
   * commit, the contacts those identities belong to (key `contact:<id>`, as {@link lock}).
   */
  readonly findForIngest: (input: {
    readonly messages: ReadonlyArray<ProviderMessageKey>
    readonly identities: ReadonlyArray<IdentityKey>
    /**
     * Also read, after the contact locks are taken, the conversations the batch may join: the
     * open one of each contact found and, by id, those of the messages found and `ids`, as
     * `findConversationsForIngest` would (the SQL store sends both statements in one round trip).
     */
    readonly conversations?:
      | { readonly ids: ReadonlyArray<ConversationId>; readonly withSlaClocks?: boolean | undefined }
      | undefined
  }) => Effect.Effect<IngestLookup, StoreError>
  /** `findOpenConversations(openOf)` and `getConversations(ids)` together. */
  readonly findConversationsForIngest: (input: {
    readonly openOf: ReadonlyArray<ContactId>
    readonly ids: ReadonlyArray<ConversationId>
    readonly withSlaClocks?: boolean | undefined
  }) => Effect.Effect<IngestConversations, StoreError>
  /**
   * Inserts contacts, conversations and messages, updates conversations and appends events, as
   * the separate methods would in that order. A message whose (channel, provider id) is already
   * stored fails the transaction with a transient {@link StoreError}: the caller holds those
   * ids' locks, so another writer did not, and the batch is worth retrying. A store may send
   * the writes later in the transaction (the SQL store sends them with COMMIT), so the failure
   * can also surface when the transaction ends; nothing is written then.
   */
  readonly applyIngestWrites: (writes: IngestWrites) => Effect.Effect<void, StoreError>
}

/** How a transaction starts. */
export interface TransactionOptions {
  /**
   * Keys locked before `f` runs, as {@link StoreTx.lock} would: SQL stores take them in the
   * round trip that opens the transaction, which saves one round trip per ingest batch.
   */
  readonly locks?: ReadonlyArray<string> | undefined
  /**
   * The keys may be taken with `f`'s first statement instead of before `f` runs: SQL stores then
   * send BEGIN, the locks and that statement in one round trip. Only for an `f` that does nothing
   * needing the keys before its first statement (ingest: its first statement is the look-up).
   */
  readonly locksWithFirstStatement?: boolean | undefined
}

/**
 * Durable storage for the hub. Implementations: the in-memory store in core (tests) and
 * `@dialogi/store-postgres` (PostgreSQL and PGlite). All of them pass the conformance suite in
 * `@dialogi/core/testing`.
 */
export interface StoreService {
  readonly name: string
  /** Runs `f` in one transaction: all of its writes commit together or not at all. */
  readonly transaction: <A, E, R>(
    f: (tx: StoreTx) => Effect.Effect<A, E, R>,
    options?: TransactionOptions
  ) => Effect.Effect<A, E | StoreError, R>
  /** Runs reads without a transaction. */
  readonly read: <A, E, R>(f: (tx: StoreTx) => Effect.Effect<A, E, R>) => Effect.Effect<A, E | StoreError, R>
  /**
   * Calls `listener` with the newest event sequence after events commit, on this instance or
   * (where the store supports it) another one. Returns the unsubscribe function.
   */
  readonly watchEvents: (listener: (headSeq: number) => void) => () => void
  /** Declares a queue's retry policy before workers run. */
  readonly defineQueue: (queue: string, policy: QueuePolicy) => Effect.Effect<void, StoreError>
  /**
   * Runs `handler` for jobs of `queue` until the scope closes. A handler failing with
   * {@link JobRetry} is retried per the queue policy and dead-lettered after the last attempt.
   */
  readonly work: (
    queue: string,
    handler: (job: Job) => Effect.Effect<void, JobRetry>,
    options?: { readonly concurrency?: number }
  ) => Effect.Effect<void, StoreError, Scope.Scope>
  /**
   * Fires deadlines of `kinds` that are due, until the scope closes. Each deadline is claimed
   * (FOR UPDATE SKIP LOCKED on SQL stores), handled and removed in ONE transaction, and `tx`
   * is that transaction: what the handler writes commits together with the removal, so a
   * deadline fires exactly once even with several instances, and a crash mid-handler fires it
   * again after restart. A handler failure rolls back only its own deadline's work, which is
   * retried later with backoff; it is never dropped. A handler may run more than once (after a
   * crash, or again when another handler of its batch failed); its writes commit exactly once,
   * so effects outside the transaction should be idempotent. Wakes at the nearest due time (re-checking
   * at least every `maxWaitMs`), when this instance arms an earlier deadline, and on SQL
   * servers when another instance arms one due soon (LISTEN/NOTIFY).
   */
  readonly runDeadlines: <E>(
    kinds: string | ReadonlyArray<string>,
    handler: (deadline: Deadline, tx: StoreTx) => Effect.Effect<void, E>,
    options?: DeadlineRunOptions
  ) => Effect.Effect<void, StoreError, Scope.Scope>
  readonly deadJobs: (queue: string) => Effect.Effect<ReadonlyArray<DeadJob>, StoreError>
  readonly close: Effect.Effect<void>
}

/** The store service tag; a store's layer provides it. */
export class Store extends Context.Tag("@dialogi/core/Store")<Store, StoreService>() {}
