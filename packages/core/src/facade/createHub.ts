import { Effect, Exit, Scope, Stream } from "effect"
import type { WebhookHandler } from "../adapter/ChannelAdapter.js"
import type { InboundEnvelopeInput, StatusUpdateInput } from "../adapter/InboundEnvelope.js"
import type { CsatReport, CsatReportGroup } from "../csat/CsatReport.js"
import type { CsatAnswerInput, CsatSurvey } from "../csat/CsatSurvey.js"
import type { Contact } from "../domain/Contact.js"
import type { Assignee, Conversation, ConversationStatus } from "../domain/Conversation.js"
import type { DialogiEvent } from "../domain/Event.js"
import type { Author, Message } from "../domain/Message.js"
import type { ServiceReport } from "../hub/csat/serviceReport.js"
import type { EventsQuery } from "../hub/EventsQuery.js"
import * as Hub from "../hub/Hub.js"
import type { HubOptions } from "../hub/HubConfig.js"
import type { IngestResult } from "../hub/ingest/ingestOne.js"
import type { ReplyCheck } from "../hub/replyRules.js"
import type { ExpectedReply } from "../hub/sla/SlaEngine.js"
import type { SlaReport } from "../sla/SlaReport.js"
import type { ConversationFilter, ConversationPage, MergeRecord, StoreService } from "../store/Store.js"
import { type DialogiRouting, routingFacade } from "./routingFacade.js"

/** Options of {@link createHub}: a store plus the hub options. */
export interface CreateHubOptions extends HubOptions {
  /** A store, e.g. `await pgliteStore({ dataDir })` from `@dialogi/store-postgres`. */
  readonly store: StoreService
}

/** A live subscription to the event log; iterate it with `for await`. */
export interface EventSubscription extends AsyncIterable<DialogiEvent> {
  /** Ends the iteration. */
  readonly close: () => void
}

/**
 * The hub with plain Promises and async iterators, for backends that do not use Effect.
 * Failures reject with dialogi's tagged errors (`err._tag` is e.g. "NotFound").
 */
export interface DialogiHub extends DialogiRouting {
  /** Rejects with HookVetoed when an ingest hook vetoes the message (recorded as `hook.ingest_vetoed`). */
  readonly ingest: (envelope: InboundEnvelopeInput) => Promise<IngestResult>
  readonly updateStatus: (update: StatusUpdateInput) => Promise<void>
  /** Send hooks run first; a veto or a failing hook rejects with HookVetoed / HookFailed. */
  readonly reply: (
    conversationId: string,
    content: Hub.ReplyContent,
    options?: Hub.ReplyOptions
  ) => Promise<Message>
  readonly note: (conversationId: string, text: string, author?: Author) => Promise<Message>
  readonly setStatus: (conversationId: string, status: ConversationStatus) => Promise<Conversation>
  readonly assign: (conversationId: string, assignee: Assignee) => Promise<Conversation>
  /** With `as`, only when that participant may see the conversation (else rejects with NotPermitted). */
  readonly thread: (
    conversationId: string,
    options?: { readonly as?: string | undefined }
  ) => Promise<Hub.Thread>
  readonly contact: (contactId: string) => Promise<Contact>
  readonly listConversations: (
    filter?: ConversationFilter,
    page?: { readonly after?: string | undefined; readonly limit?: number | undefined }
  ) => Promise<ConversationPage>
  readonly canReply: (
    conversationId: string,
    channel?: string,
    content?: Hub.ReplyContent
  ) => Promise<ReplyCheck>
  readonly linkIdentity: (
    contactId: string,
    identity: { readonly channel: string; readonly address: string; readonly verified: boolean }
  ) => Promise<Hub.LinkResult>
  readonly merge: (survivorId: string, absorbedId: string, reason: string) => Promise<MergeRecord>
  readonly unmerge: (mergeId: string) => Promise<MergeRecord>
  readonly events: {
    /**
     * Events after a cursor (sequence number), oldest first. `query` is a page size (default
     * 500, at most 5,000) or `{ limit, conversationId }` to read one conversation's events only
     * (through its own index, so the cost does not grow with everyone else's traffic). Rejects
     * with `InvalidInput` for a cursor that is not an integer >= 0 or a malformed query.
     */
    readonly after: (cursor: number, query?: number | EventsQuery) => Promise<ReadonlyArray<DialogiEvent>>
    /** Every event after `cursor`, then live ones; store the last `seq` to resume later. */
    readonly subscribe: (cursor: number) => EventSubscription
  }
  /** The fetch-style webhook handler of a channel. */
  readonly webhook: (channel: string) => WebhookHandler
  readonly sla: {
    /** When the customer can expect the reply they wait for; undefined when nobody waits. */
    readonly expectedReply: (conversationId: string) => Promise<ExpectedReply | undefined>
    /** Starts clocks on existing conversations that have none; returns how many got clocks. */
    readonly startClocks: (conversationIds: ReadonlyArray<string>) => Promise<number>
  }
  readonly reports: {
    /** SLA attainment, breaches and p50/p90 business time per group, computed by the store. */
    readonly sla: (query: {
      readonly from: Date
      readonly to: Date
      readonly groupBy: "policy" | "channel" | "team" | "agent"
    }) => Promise<SlaReport>
    /** CSAT per channel, team or agent for surveys requested in `[from, to)`, computed by the store. */
    readonly csat: (query: {
      readonly from: Date
      readonly to: Date
      readonly groupBy: CsatReportGroup
    }) => Promise<CsatReport>
    /** SLA attainment and CSAT side by side, one row per channel, team or agent. */
    readonly service: (query: {
      readonly from: Date
      readonly to: Date
      readonly groupBy: CsatReportGroup
    }) => Promise<ServiceReport>
  }
  readonly csat: {
    /** Answers the conversation's pending survey; rejects with NoPendingSurvey when none waits. */
    readonly answer: (conversationId: string, answer: CsatAnswerInput) => Promise<CsatSurvey>
    /** The surveys of a conversation, newest first. */
    readonly surveys: (conversationId: string) => Promise<ReadonlyArray<CsatSurvey>>
  }
  /** Stops workers and adapters and closes the store. */
  readonly close: () => Promise<void>
}

/**
 * Creates a hub without any Effect knowledge:
 * `const hub = await createHub({ store: await pgliteStore({ dataDir: ".data" }), adapters })`.
 */
export const createHub = async (options: CreateHubOptions): Promise<DialogiHub> => {
  const { store, ...hubOptions } = options
  const scope = Effect.runSync(Scope.make())
  const hub = await Hub.runTyped(Scope.extend(Hub.make(store, hubOptions), scope)).catch(async (error) => {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    throw error
  })
  const run = Hub.runTyped
  let closed = false
  return {
    ...routingFacade(hub, run),
    ingest: (envelope) => run(hub.ingest(envelope)),
    updateStatus: (update) => run(hub.updateStatus(update)),
    reply: (id, content, replyOptions) => run(hub.reply(id, content, replyOptions)),
    note: (id, text, author) => run(hub.note(id, text, author)),
    setStatus: (id, status) => run(hub.setStatus(id, status)),
    assign: (id, assignee) => run(hub.assign(id, assignee)),
    thread: (id, threadOptions) => run(hub.thread(id, threadOptions)),
    contact: (id) => run(hub.contact(id)),
    listConversations: (filter, page) => run(hub.listConversations(filter, page)),
    canReply: (id, channel, content) => run(hub.canReply(id, channel, content)),
    linkIdentity: (id, identity) => run(hub.linkIdentity(id, identity)),
    merge: (survivor, absorbed, reason) => run(hub.merge(survivor, absorbed, reason)),
    unmerge: (mergeId) => run(hub.unmerge(mergeId)),
    events: {
      after: (cursor, query) => run(hub.eventsAfter(cursor, query)),
      subscribe: (cursor) => {
        const controller = new AbortController()
        const stream = hub.events(cursor).pipe(Stream.interruptWhen(waitForAbort(controller.signal)))
        const iterable = Stream.toAsyncIterable(stream)
        return {
          [Symbol.asyncIterator]: () => iterable[Symbol.asyncIterator](),
          close: () => controller.abort()
        }
      }
    },
    webhook: (channel) => hub.webhook(channel),
    sla: {
      expectedReply: (id) => run(hub.sla.expectedReply(id)),
      startClocks: (ids) => run(hub.sla.startClocks(ids))
    },
    reports: {
      sla: (query) => run(hub.reports.sla(query)),
      csat: (query) => run(hub.reports.csat(query)),
      service: (query) => run(hub.reports.service(query))
    },
    csat: {
      answer: (id, answer) => run(hub.csat.answer(id, answer)),
      surveys: (id) => run(hub.csat.surveys(id))
    },
    close: async () => {
      if (closed) return
      closed = true
      await Effect.runPromise(Scope.close(scope, Exit.void))
      await Effect.runPromise(store.close)
    }
  }
}

const waitForAbort = (signal: AbortSignal) =>
  Effect.async<void>((resume) => {
    if (signal.aborted) return resume(Effect.void)
    const onAbort = () => resume(Effect.void)
    signal.addEventListener("abort", onAbort, { once: true })
    return Effect.sync(() => signal.removeEventListener("abort", onAbort))
  })
