import { Cause, Context, Effect, Layer, Schema, type Scope, type Stream } from "effect"
import type { AdapterContext, WebhookHandler } from "../adapter/ChannelAdapter.js"
import type { NoPendingSurvey } from "../csat/CsatErrors.js"
import type { CsatReport, CsatReportGroup } from "../csat/CsatReport.js"
import type { CsatAnswerInput, CsatSurvey } from "../csat/CsatSurvey.js"
import { type Contact, Identity } from "../domain/Contact.js"
import { Assignee, Conversation, ConversationStatus } from "../domain/Conversation.js"
import {
  type InvalidAddress,
  InvalidInput,
  type MergeConflict,
  NotFound,
  ReplyRefused,
  type StoreError
} from "../domain/Errors.js"
import type { DialogiEvent, EventBody } from "../domain/Event.js"
import { type ContactId, type ConversationId, type MergeId, type MessageId, newId } from "../domain/Ids.js"
import { type Author, canAdvance, Message, MessagePart } from "../domain/Message.js"
import type { HookFailed, HookVetoed } from "../hooks/HookErrors.js"
import { NotPermitted } from "../routing/RoutingErrors.js"
import { slaDeadlineKind } from "../sla/clockTransitions.js"
import { SlaReportQuery } from "../sla/SlaClock.js"
import type { SlaReport } from "../sla/SlaReport.js"
import { findIdentity, findMessageByProviderId, getConversation } from "../store/rowLookups.js"
import {
  type ConversationFilter,
  type ConversationPage,
  type MergeRecord,
  Store,
  type StoreService,
  type StoreTx
} from "../store/Store.js"
import { makeAdapterRegistry } from "./AdapterRegistry.js"
import { mergeContacts, unmergeContacts } from "./contactMerge.js"
import { makeCsatEngine } from "./csat/CsatEngine.js"
import { type ServiceReport, serviceReport } from "./csat/serviceReport.js"
import { decodeEventsRead, type EventsQuery } from "./EventsQuery.js"
import { eventStream } from "./eventStream.js"
import { type HubOptions, resolveHubOptions } from "./HubConfig.js"
import { makeIngestHooks } from "./hooks/ingestHooks.js"
import { makeSendHooks } from "./hooks/sendHooks.js"
import { makeIngestBatcher } from "./ingest/IngestBatcher.js"
import type { IngestResult } from "./ingest/ingestOne.js"
import { decodeStatusUpdate, normalizeEnvelope } from "./ingest/normalizeEnvelope.js"
import { recordOutbound } from "./recordOutbound.js"
import { checkReply, type ReplyCheck } from "./replyRules.js"
import { lockConversations } from "./routing/placement.js"
import { type HubRouting, makeRouting } from "./routing/RoutingHub.js"
import { handleSendJob, sendQueue } from "./sendWorker.js"
import { type ExpectedReply, makeSlaEngine } from "./sla/SlaEngine.js"

/** What a reply carries: plain text, or parts (text, html, attachments). */
export type ReplyContent = string | { readonly parts: ReadonlyArray<MessagePart> }

/** Options of `reply`. */
export interface ReplyOptions {
  /** The channel to answer on; default: the one the customer used last. */
  readonly channel?: string | undefined
  /** Who writes; default: an agent named "agent". */
  readonly author?: Author | undefined
}

/** A conversation with its contact and every message, across channels, in order. */
export interface Thread {
  readonly conversation: Conversation
  readonly contact: Contact
  readonly messages: ReadonlyArray<Message>
}

/** The result of linking an identity to a contact. */
export type LinkResult =
  | { readonly _tag: "linked" }
  | { readonly _tag: "already_linked" }
  | { readonly _tag: "merged"; readonly merge: MergeRecord }
  | { readonly _tag: "suggested"; readonly candidateId: ContactId }
  | { readonly _tag: "not_linked"; readonly reason: string }

/** The hub: everything a backend does with conversations, as Effects. */
export interface HubService extends HubRouting {
  /** Ingests one inbound message (validated, deduped, threaded) and commits it. */
  readonly ingest: (
    envelope: unknown
  ) => Effect.Effect<IngestResult, InvalidInput | InvalidAddress | HookVetoed | StoreError>
  /** Applies a provider's delivery report; statuses never move backwards. */
  readonly updateStatus: (update: unknown) => Effect.Effect<void, InvalidInput | NotFound | StoreError>
  /**
   * Queues a reply after checking it can go out; refused replies change nothing. Send hooks run
   * first: a veto (HookVetoed) or a failing hook (HookFailed) stops it with a system note.
   */
  readonly reply: (
    conversationId: string,
    content: ReplyContent,
    options?: ReplyOptions
  ) => Effect.Effect<Message, NotFound | ReplyRefused | InvalidInput | HookVetoed | HookFailed | StoreError>
  /** Adds an internal note, never sent to the customer. */
  readonly note: (
    conversationId: string,
    text: string,
    author?: Author
  ) => Effect.Effect<Message, NotFound | InvalidInput | StoreError>
  readonly setStatus: (
    conversationId: string,
    status: ConversationStatus
  ) => Effect.Effect<Conversation, NotFound | InvalidInput | StoreError>
  readonly assign: (
    conversationId: string,
    assignee: Assignee
  ) => Effect.Effect<Conversation, NotFound | InvalidInput | StoreError>
  /** A conversation's thread; with `as`, only when that participant may see it (else NotPermitted). */
  readonly thread: (
    conversationId: string,
    options?: { readonly as?: string | undefined }
  ) => Effect.Effect<Thread, NotFound | NotPermitted | StoreError>
  readonly contact: (contactId: string) => Effect.Effect<Contact, NotFound | StoreError>
  readonly listConversations: (
    filter?: ConversationFilter,
    page?: { readonly after?: string | undefined; readonly limit?: number | undefined }
  ) => Effect.Effect<ConversationPage, InvalidInput | StoreError>
  /** Whether a reply can go out on a channel now, and if not, why. */
  readonly canReply: (
    conversationId: string,
    channel?: string,
    content?: ReplyContent
  ) => Effect.Effect<ReplyCheck, NotFound | InvalidInput | StoreError>
  /**
   * Adds an identity to a contact. Verified identities link (merging the contact that owned
   * it); unverified ones only raise a merge suggestion when they belong to someone else.
   */
  readonly linkIdentity: (
    contactId: string,
    identity: { readonly channel: string; readonly address: string; readonly verified: boolean }
  ) => Effect.Effect<LinkResult, NotFound | InvalidInput | InvalidAddress | MergeConflict | StoreError>
  readonly merge: (
    survivorId: string,
    absorbedId: string,
    reason: string
  ) => Effect.Effect<MergeRecord, NotFound | MergeConflict | StoreError>
  readonly unmerge: (mergeId: string) => Effect.Effect<MergeRecord, NotFound | MergeConflict | StoreError>
  /**
   * Events after a cursor (a sequence number), oldest first. `query` is a page size (default
   * 500, at most 5,000) or `{ limit, conversationId }`: with a conversation, only its events,
   * read through the store's per-conversation index.
   */
  readonly eventsAfter: (
    cursor: number,
    query?: number | EventsQuery
  ) => Effect.Effect<ReadonlyArray<DialogiEvent>, InvalidInput | StoreError>
  /** Every event after a cursor, then live ones as they commit; resumable from any seq. */
  readonly events: (cursor: number) => Stream.Stream<DialogiEvent, StoreError>
  /** The webhook handler of a channel's adapter. */
  readonly webhook: (channel: string) => WebhookHandler
  /** The context adapters use (exposed for hosts that drive an adapter by hand). */
  readonly adapterContext: AdapterContext
  /** Service levels (see `sla` in the hub options). */
  readonly sla: {
    /**
     * When the customer can expect the reply they are waiting for (the running first or next
     * response clock), or undefined when they are not waiting (answered, resolved, no policy).
     */
    readonly expectedReply: (
      conversationId: string
    ) => Effect.Effect<ExpectedReply | undefined, NotFound | StoreError>
    /**
     * Starts clocks on existing conversations that have none, as if the customer had just
     * written (for turning SLA on in a running inbox, or importing open tickets). Resolved
     * conversations and conversations with clocks are left alone. Returns how many got clocks.
     */
    readonly startClocks: (conversationIds: ReadonlyArray<string>) => Effect.Effect<number, StoreError>
  }
  readonly reports: {
    /**
     * SLA attainment, breaches and p50/p90 business time per target, for clock cycles decided
     * (met or breached) in `[from, to)`, grouped by policy, channel, team or agent; computed
     * by the store (in SQL on PostgreSQL and PGlite).
     */
    readonly sla: (query: {
      readonly from: Date
      readonly to: Date
      readonly groupBy: "policy" | "channel" | "team" | "agent"
    }) => Effect.Effect<SlaReport, InvalidInput | StoreError>
    /**
     * CSAT per channel, team or agent for surveys requested in `[from, to)`: requested,
     * answered, response rate, CSAT % (4-5 or thumbs up) and the mean 1-5 score; computed by the
     * store (in SQL on PostgreSQL and PGlite).
     */
    readonly csat: (query: {
      readonly from: Date
      readonly to: Date
      readonly groupBy: CsatReportGroup
    }) => Effect.Effect<CsatReport, InvalidInput | StoreError>
    /** SLA attainment and CSAT side by side, one row per channel, team or agent. */
    readonly service: (query: {
      readonly from: Date
      readonly to: Date
      readonly groupBy: CsatReportGroup
    }) => Effect.Effect<ServiceReport, InvalidInput | StoreError>
  }
  /** Customer satisfaction surveys (see `csat` in the hub options). */
  readonly csat: {
    /**
     * Answers the conversation's pending survey (for answers collected elsewhere, say a link in
     * an email): a 1-5 score, or "up"/"down" on thumbs, with an optional comment.
     */
    readonly answer: (
      conversationId: string,
      answer: CsatAnswerInput
    ) => Effect.Effect<CsatSurvey, InvalidInput | NotFound | NoPendingSurvey | StoreError>
    /** The surveys of a conversation, newest first. */
    readonly surveys: (conversationId: string) => Effect.Effect<ReadonlyArray<CsatSurvey>, StoreError>
  }
}

/** The hub service tag. */
export class Hub extends Context.Tag("@dialogi/core/Hub")<Hub, HubService>() {}

const decodeStatus = Schema.decodeUnknown(ConversationStatus)
const decodeReportQuery = Schema.decodeUnknown(SlaReportQuery)
const decodeAssignee = Schema.decodeUnknown(Assignee)
const decodeParts = Schema.decodeUnknown(Schema.Array(MessagePart).pipe(Schema.minItems(1)))

const invalid = (what: string) => (e: unknown) =>
  new InvalidInput({ what, message: e instanceof Error ? e.message : String(e) })

const toParts = (content: ReplyContent) =>
  decodeParts(typeof content === "string" ? [{ _tag: "text", text: content }] : content.parts).pipe(
    Effect.mapError(invalid("reply content"))
  )

/** Runs an Effect as a Promise that rejects with the typed error (not a FiberFailure). */
export const runTyped = <A, E>(effect: Effect.Effect<A, E>): Promise<A> =>
  Effect.runPromiseExit(effect).then((exit) => {
    if (exit._tag === "Success") return exit.value
    const failure = Cause.failureOption(exit.cause)
    throw failure._tag === "Some" ? failure.value : Cause.squash(exit.cause)
  })

/** Builds a hub on a store; its workers and adapters stop when the scope closes. */
export const make = (
  store: StoreService,
  hubOptions: HubOptions = {}
): Effect.Effect<HubService, StoreError | InvalidInput, Scope.Scope> =>
  Effect.gen(function* () {
    const options = resolveHubOptions(hubOptions)
    const registry = makeAdapterRegistry(options.adapters, options.defaultRegion)
    const routing = makeRouting(store, registry, options.routing, options.log)
    const sla = yield* makeSlaEngine(store, options.sla, {
      log: options.log,
      // Acknowledgements go out like any reply (checked, queued, sent by the send worker), by
      // the system author, so they stop no clock; a refusal is logged and nothing is sent.
      queueAcknowledgement: (tx, conversation, channel, text) =>
        writeOutboundIn(
          tx,
          conversation,
          [{ _tag: "text", text }],
          channel,
          { _tag: "system" },
          "public"
        ).pipe(
          Effect.catchTags({
            ReplyRefused: (refused) =>
              Effect.sync(() =>
                options.log("warn", `sla acknowledgement for ${conversation.id} refused`, refused.refusal)
              ),
            // The contact was merged away meanwhile: nobody to acknowledge.
            NotFound: () => Effect.void
          }),
          Effect.asVoid
        )
    })
    yield* sla.recordPolicies
    const batcher = yield* makeIngestBatcher(store, {
      maxBatch: options.maxIngestBatch,
      concurrency: options.ingestConcurrency,
      sla,
      onOpened: routing.onConversationsOpened
    })

    const ingestHooks = makeIngestHooks(store, options.hooks.ingest ?? [], routing.afterConversationChange)
    const sendHooks = makeSendHooks(
      store,
      options.hooks.send ?? [],
      routing.afterConversationChange,
      (tx, conversation, text) =>
        Effect.asVoid(
          writeOutboundIn(
            tx,
            conversation,
            [{ _tag: "text", text }],
            undefined,
            { _tag: "system" },
            "internal"
          )
        ).pipe(Effect.catchTags({ ReplyRefused: Effect.die, NotFound: Effect.die }))
    )
    // Surveys go out like acknowledgements: by the system author, on the durable send path.
    const csat = makeCsatEngine(store, options.csat, {
      queueSurvey: (tx, conversation, channel, text) =>
        writeOutboundIn(tx, conversation, [{ _tag: "text", text }], channel, { _tag: "system" }, "public"),
      log: options.log
    })

    const loadConversation = (tx: Parameters<Parameters<StoreService["read"]>[0]>[0], id: string) =>
      Effect.flatMap(getConversation(tx, id as ConversationId), (c) =>
        c ? Effect.succeed(c) : Effect.fail(new NotFound({ entity: "conversation", id }))
      )
    const loadContact = (tx: Parameters<Parameters<StoreService["read"]>[0]>[0], id: string) =>
      Effect.flatMap(tx.getContact(id as ContactId), (c) =>
        c ? Effect.succeed(c) : Effect.fail(new NotFound({ entity: "contact", id }))
      )

    // Hooks run per envelope before the batcher; a CSAT answer is stored on its own, the rest
    // go through group commit as before.
    const ingest: HubService["ingest"] = (input) =>
      Effect.flatMap(normalizeEnvelope(registry, input), (envelope) =>
        ingestHooks.ingest(envelope, (hooked) =>
          csat.enabled
            ? Effect.flatMap(csat.intercept(hooked), (answered) =>
                answered === undefined ? batcher.ingest(hooked) : Effect.succeed(answered)
              )
            : batcher.ingest(hooked)
        )
      )

    const updateStatus: HubService["updateStatus"] = (input) =>
      Effect.gen(function* () {
        const update = yield* decodeStatusUpdate(input)
        yield* store.transaction((tx) =>
          Effect.gen(function* () {
            const message = yield* findMessageByProviderId(tx, update.channel, update.providerMessageId)
            if (!message)
              return yield* new NotFound({
                entity: "message",
                id: `${update.channel}:${update.providerMessageId}`
              })
            yield* tx.lock([`msgstatus:${message.id}`])
            const current = yield* tx.getMessage(message.id)
            if (!current || !canAdvance(current.status, update.status)) return
            yield* tx.setMessageStatus(message.id, update.status)
            yield* tx.appendEvents(
              [
                {
                  _tag: "message.status",
                  conversationId: message.conversationId,
                  messageId: message.id,
                  status: update.status
                }
              ],
              update.at
            )
          })
        )
      })

    /** Writes an outbound message (and its send job) inside `tx`. */
    function writeOutboundIn(
      tx: StoreTx,
      conversation: Conversation,
      parts: ReadonlyArray<MessagePart>,
      channelOption: string | undefined,
      author: Author,
      visibility: "public" | "internal"
    ): Effect.Effect<Message, NotFound | ReplyRefused | StoreError> {
      return Effect.gen(function* () {
        const now = new Date()
        const conversationId = conversation.id
        let channel = "note"
        if (visibility === "public") {
          const contact = yield* loadContact(tx, conversation.contactId)
          const check = yield* checkReply(tx, registry, conversation, contact, channelOption, parts, now)
          if (!check.ok) return yield* new ReplyRefused({ conversationId, refusal: check.refusal })
          channel = check.channel
        }
        const message = new Message({
          id: newId("msg") as MessageId,
          conversationId: conversation.id,
          direction: "outbound",
          author,
          channel: channel as Message["channel"],
          parts,
          visibility,
          status: visibility === "public" ? { _tag: "queued" } : { _tag: "sent" },
          createdAt: now,
          sentAt: now
        })
        yield* tx.insertMessages([{ message, metadata: {} }])
        yield* tx.updateConversations([
          new Conversation({ ...conversation, lastMessageAt: now, updatedAt: now })
        ])
        if (visibility === "public")
          yield* tx.enqueueJob({ queue: sendQueue, payload: { messageId: message.id }, key: message.id })
        // Only a public reply by a person or a bot answers the customer: notes and system
        // messages (acknowledgements) leave the response clocks running.
        const slaEvents =
          visibility === "public" && (author._tag === "agent" || author._tag === "bot")
            ? yield* sla.afterReply(tx, conversation)
            : []
        yield* tx.appendEvents(
          [
            visibility === "public"
              ? { _tag: "message.queued", conversationId: conversation.id, message }
              : { _tag: "message.note_added", conversationId: conversation.id, message },
            ...slaEvents
          ],
          now
        )
        return message
      })
    }

    const writeOutbound = (
      conversationId: string,
      parts: ReadonlyArray<MessagePart>,
      channelOption: string | undefined,
      author: Author,
      visibility: "public" | "internal"
    ) =>
      store.transaction((tx) =>
        // The row is written whole: hold it (and its contact, which ingest holds from read to
        // commit) so that neither side writes over the other's change.
        lockConversations(tx, [conversationId as ConversationId]).pipe(
          Effect.zipRight(loadConversation(tx, conversationId)),
          Effect.flatMap((conversation) =>
            writeOutboundIn(tx, conversation, parts, channelOption, author, visibility)
          )
        )
      )

    const changeConversation = (
      conversationId: string,
      change: (c: Conversation) => { next: Conversation; events: EventBody[] },
      after?: (
        tx: StoreTx,
        before: Conversation,
        updated: Conversation
      ) => Effect.Effect<EventBody[], StoreError>
    ) =>
      store.transaction((tx) =>
        Effect.gen(function* () {
          const now = new Date()
          // Whole-row write: hold the conversation and its contact (see writeOutbound).
          yield* lockConversations(tx, [conversationId as ConversationId])
          const current = yield* loadConversation(tx, conversationId)
          const { next, events } = change(current)
          if (events.length === 0) return current
          const updated = new Conversation({ ...next, updatedAt: now })
          yield* tx.updateConversations([updated])
          yield* routing.afterConversationChange(tx, current, updated, now)
          const followUps = after === undefined ? [] : yield* after(tx, current, updated)
          yield* tx.appendEvents([...events, ...followUps], now)
          return updated
        })
      )

    // Adapters get plain Promises; a typed failure rejects with the tagged error itself.
    const adapterContext: AdapterContext = {
      ingest: (envelope) => runTyped(ingest(envelope)),
      updateStatus: (update) => runTyped(updateStatus(update)),
      recordOutbound: (record) => runTyped(recordOutbound({ store, registry, sla }, record)),
      log: options.log
    }

    const hub: HubService = {
      handoff: routing.handoff,
      handoffs: routing.handoffs,
      callbacks: routing.callbacks,
      routing: routing.routing,
      ingest,
      updateStatus,
      reply: (conversationId, content, replyOptions) =>
        Effect.gen(function* () {
          const parts = yield* toParts(content)
          const author = replyOptions?.author ?? { _tag: "agent" as const, id: "agent" }
          const hooked = yield* sendHooks.before(conversationId, parts, replyOptions?.channel, author, (id) =>
            store.read((tx) =>
              Effect.flatMap(loadConversation(tx, id), (conversation) =>
                Effect.map(loadContact(tx, conversation.contactId), (contact) => ({ conversation, contact }))
              )
            )
          )
          const message = yield* writeOutbound(
            conversationId,
            hooked.parts,
            replyOptions?.channel,
            author,
            "public"
          )
          yield* sendHooks.after(message.conversationId, hooked)
          return message
        }),
      note: (conversationId, text, author) =>
        Effect.flatMap(toParts(text), (parts) =>
          writeOutbound(
            conversationId,
            parts,
            undefined,
            author ?? { _tag: "agent", id: "agent" },
            "internal"
          ).pipe(
            // Notes skip the reply rules, so a refusal cannot happen here.
            Effect.catchTag("ReplyRefused", Effect.die)
          )
        ),
      setStatus: (conversationId, statusInput) =>
        Effect.flatMap(decodeStatus(statusInput).pipe(Effect.mapError(invalid("status"))), (status) =>
          changeConversation(
            conversationId,
            (c) => ({
              next: new Conversation({ ...c, status }),
              events:
                c.status === status
                  ? []
                  : [
                      {
                        _tag: "conversation.status_changed",
                        conversationId: c.id,
                        from: c.status,
                        to: status
                      },
                      ...(status === "resolved"
                        ? [{ _tag: "conversation.resolved" as const, conversationId: c.id }]
                        : [])
                    ]
            }),
            (tx, before, updated) =>
              Effect.flatMap(sla.afterStatusChange(tx, before, updated), (slaEvents) =>
                Effect.map(csat.afterStatusChange(tx, before, updated), (csatEvents) => [
                  ...slaEvents,
                  ...csatEvents
                ])
              )
          )
        ),
      assign: (conversationId, assigneeInput) =>
        Effect.flatMap(decodeAssignee(assigneeInput).pipe(Effect.mapError(invalid("assignee"))), (assignee) =>
          changeConversation(conversationId, (c) => ({
            next: new Conversation({ ...c, assignee }),
            events:
              JSON.stringify(c.assignee) === JSON.stringify(assignee)
                ? []
                : [{ _tag: "conversation.assigned", conversationId: c.id, from: c.assignee, to: assignee }]
          }))
        ),
      thread: (conversationId, threadOptions) =>
        store.read((tx) =>
          Effect.gen(function* () {
            const conversation = yield* loadConversation(tx, conversationId)
            const viewer = threadOptions?.as
            if (viewer !== undefined && (yield* tx.routing.visibleTo(viewer, [conversation.id])).length === 0)
              return yield* new NotPermitted({
                participantId: viewer,
                message: `may not see ${conversationId}`
              })
            const contact = yield* loadContact(tx, conversation.contactId)
            const messages = yield* tx.thread([conversation.id])
            return { conversation, contact, messages }
          })
        ),
      contact: (contactId) => store.read((tx) => loadContact(tx, contactId)),
      listConversations: (filter = {}, page = {}) => {
        const limit = page.limit ?? 50
        if (!Number.isInteger(limit) || limit < 1 || limit > 500)
          return Effect.fail(
            new InvalidInput({ what: "page.limit", message: "must be an integer from 1 to 500" })
          )
        return store.read((tx) => tx.listConversations(filter, { after: page.after, limit }))
      },
      canReply: (conversationId, channel, content = "") =>
        Effect.flatMap(
          typeof content === "string" && content === "" ? Effect.succeed([]) : toParts(content),
          (parts) =>
            store.read((tx) =>
              Effect.gen(function* () {
                const conversation = yield* loadConversation(tx, conversationId)
                const contact = yield* loadContact(tx, conversation.contactId)
                return yield* checkReply(tx, registry, conversation, contact, channel, parts, new Date())
              })
            )
        ),
      linkIdentity: (contactId, input) =>
        Effect.gen(function* () {
          if (!/^[a-z][a-z0-9_-]{0,31}$/.test(input.channel))
            return yield* new InvalidInput({
              what: "identity.channel",
              message: `bad channel name ${input.channel}`
            })
          const address = yield* registry.normalize(input.channel, input.address)
          return yield* store.transaction((tx) =>
            Effect.gen(function* () {
              const now = new Date()
              yield* tx.lock([`id:${input.channel}:${address}`, `contact:${contactId}`])
              const contact = yield* loadContact(tx, contactId)
              const row = yield* findIdentity(tx, input.channel, address)
              const identity = { channel: input.channel as Contact["identities"][number]["channel"], address }
              if (row?.contactId === contact.id) {
                if (input.verified && !row.identity.verified)
                  yield* tx.setIdentityVerified(input.channel, address)
                return { _tag: "already_linked" } as const
              }
              if (!row) {
                // An unverified address that nobody owns is not linked: it would let its claimant
                // read the thread of whoever really owns it once they write.
                if (!input.verified) return { _tag: "not_linked", reason: "unverified identity" } as const
                yield* tx.addIdentity(contact.id, new Identity({ ...identity, verified: true }))
                yield* tx.appendEvents(
                  [{ _tag: "contact.linked", contactId: contact.id, ...identity, verified: true }],
                  now
                )
                return { _tag: "linked" } as const
              }
              if (!input.verified) {
                yield* tx.appendEvents(
                  [
                    {
                      _tag: "contact.merge_suggested",
                      contactId: contact.id,
                      candidateId: row.contactId,
                      ...identity,
                      reason: "unverified identity claim"
                    }
                  ],
                  now
                )
                return { _tag: "suggested", candidateId: row.contactId } as const
              }
              const { merge, event } = yield* mergeContacts(
                tx,
                row.contactId,
                contact.id,
                `verified ${input.channel} identity linked`,
                now
              )
              yield* tx.appendEvents([event], now)
              return { _tag: "merged", merge } as const
            })
          )
        }),
      merge: (survivorId, absorbedId, reason) =>
        store.transaction((tx) =>
          Effect.gen(function* () {
            const now = new Date()
            yield* tx.lock([`contact:${survivorId}`, `contact:${absorbedId}`])
            const { merge, event } = yield* mergeContacts(
              tx,
              survivorId as ContactId,
              absorbedId as ContactId,
              reason,
              now
            )
            yield* tx.appendEvents([event], now)
            return merge
          })
        ),
      unmerge: (mergeId) =>
        store.transaction((tx) =>
          Effect.gen(function* () {
            const now = new Date()
            yield* tx.lock([`merge:${mergeId}`])
            const { merge, event } = yield* unmergeContacts(tx, mergeId as MergeId, now)
            yield* tx.appendEvents([event], now)
            return { ...merge, undoneAt: now }
          })
        ),
      eventsAfter: (cursor, query) =>
        Effect.flatMap(decodeEventsRead(cursor, query), (read) =>
          store.read((tx) => tx.eventsAfter(read.cursor, read.limit, read.filter))
        ),
      events: (cursor) => eventStream(store, cursor),
      webhook: (channel) => {
        const adapter = registry.get(channel)
        if (!adapter?.handleWebhook) throw new Error(`[dialogi] no webhook for channel "${channel}"`)
        return adapter.handleWebhook
      },
      adapterContext,
      sla: {
        expectedReply: (conversationId) =>
          Effect.zipRight(
            store.read((tx) => loadConversation(tx, conversationId)),
            sla.expectedReply(conversationId as ConversationId)
          ),
        startClocks: (conversationIds) => sla.startClocks(conversationIds as ReadonlyArray<ConversationId>)
      },
      reports: {
        sla: (query) =>
          Effect.flatMap(
            decodeReportQuery(query).pipe(Effect.mapError(invalid("sla report query"))),
            sla.report
          ),
        csat: (query) => csat.report(query),
        service: (query) => serviceReport(query, csat.report, (q) => sla.report(q))
      },
      csat: {
        answer: (conversationId, answer) => csat.answer(conversationId, answer),
        surveys: (conversationId) => csat.surveys(conversationId)
      }
    }

    if (options.runWorkers) {
      yield* store.defineQueue(sendQueue, {
        retryLimit: options.sendRetryLimit,
        retryDelayMs: options.sendRetryDelayMs,
        backoff: true
      })
      yield* store.work(sendQueue, handleSendJob(store, registry, options), {
        concurrency: options.sendConcurrency
      })
      yield* routing.runWorkers
      // Only the "sla" kind: other deadline kinds (handoff, callback) have their own runners.
      if (sla.enabled) yield* store.runDeadlines([slaDeadlineKind], sla.handleDeadline, sla.deadlineOptions)
    }
    for (const adapter of registry.all) {
      if (adapter.start) yield* Effect.promise(() => adapter.start!(adapterContext))
      if (adapter.stop) yield* Effect.addFinalizer(() => Effect.promise(() => adapter.stop!()))
    }
    return hub
  })

/** A layer providing the {@link Hub} on the {@link Store} in context. */
export const layer = (options: HubOptions = {}): Layer.Layer<Hub, StoreError | InvalidInput, Store> =>
  Layer.scoped(
    Hub,
    Effect.flatMap(Store, (store) => make(store, options))
  )
