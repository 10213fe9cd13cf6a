import { Context, type Effect, type Scope } from "effect"
import type { Contact, Identity } from "../domain/Contact.js"
import type { Assignee, Conversation, ConversationStatus } from "../domain/Conversation.js"
import type { StoreError } from "../domain/Errors.js"
import type { DialogiEvent, EventBody } from "../domain/Event.js"
import type { ContactId, ConversationId, MergeId, MessageId } from "../domain/Ids.js"
import type { DeliveryStatus, Message } from "../domain/Message.js"

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

/** Rows an ingest batch needs before it can decide anything. */
export interface IngestLookup {
  readonly messages: ReadonlyArray<Message>
  readonly identities: ReadonlyArray<IdentityRow>
}

/** Conversations an ingest batch may join. */
export interface IngestConversations {
  /** At most one per contact: its most recently active conversation that is not resolved. */
  readonly open: ReadonlyArray<Conversation>
  /** The conversations asked for by id (threading hints, replied-to messages). */
  readonly byId: ReadonlyArray<Conversation>
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
  readonly eventsAfter: (seq: number, limit: number) => Effect.Effect<ReadonlyArray<DialogiEvent>, StoreError>

  readonly enqueueJob: (job: NewJob) => Effect.Effect<void, StoreError>

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
  }) => Effect.Effect<IngestLookup, StoreError>
  /** `findOpenConversations(openOf)` and `getConversations(ids)` together. */
  readonly findConversationsForIngest: (input: {
    readonly openOf: ReadonlyArray<ContactId>
    readonly ids: ReadonlyArray<ConversationId>
  }) => Effect.Effect<IngestConversations, StoreError>
  /**
   * Inserts contacts, conversations and messages, updates conversations and appends events, as
   * the separate methods would in that order. Returns the ids of the messages inserted (a
   * duplicate provider id is skipped) and the appended events.
   */
  readonly applyIngestWrites: (
    writes: IngestWrites
  ) => Effect.Effect<
    { readonly insertedMessageIds: ReadonlyArray<MessageId>; readonly events: ReadonlyArray<DialogiEvent> },
    StoreError
  >
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
    f: (tx: StoreTx) => Effect.Effect<A, E, R>
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
  readonly deadJobs: (queue: string) => Effect.Effect<ReadonlyArray<DeadJob>, StoreError>
  readonly close: Effect.Effect<void>
}

/** The store service tag; a store's layer provides it. */
export class Store extends Context.Tag("@dialogi/core/Store")<Store, StoreService>() {}
