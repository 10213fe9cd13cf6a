import { Cause, Deferred, Effect, Exit, Fiber, FiberId, Layer, Option } from "effect"
import type { CsatSurvey } from "../csat/CsatSurvey.js"
import { makeMemoryCsatTx } from "../csat/MemoryCsatTx.js"
import { Contact, Identity } from "../domain/Contact.js"
import { Conversation } from "../domain/Conversation.js"
import { contactOf, conversationOf, DialogiEvent } from "../domain/Event.js"
import type { ContactId, ConversationId, EventSeq, MessageId } from "../domain/Ids.js"
import { Message } from "../domain/Message.js"
import { canSee, makeMemoryRoutingState, makeMemoryRoutingTx } from "../routing/MemoryRoutingTx.js"
import type { SlaClockRow, SlaOutcome, SlaPolicyRecord } from "../sla/SlaClock.js"
import { aggregateSlaOutcomes } from "../sla/SlaReport.js"
import { conversationCursor, matchesFilter, sortConversations } from "./conversationListing.js"
import { composeIngestOps, type StoreTxBase } from "./ingestComposites.js"
import { retryDelay } from "./retryDelay.js"
import {
  type DeadJob,
  type Deadline,
  type DeadlineRunOptions,
  deadlineRetryDelay,
  type IdentityRow,
  type Job,
  type JobRetry,
  type MergeRecord,
  type NewJob,
  type QueuePolicy,
  Store,
  type StoreService,
  type StoreTx
} from "./Store.js"

interface ContactRow {
  id: ContactId
  name: string | undefined
  attributes: Record<string, unknown>
  mergedInto: ContactId | undefined
  createdAt: Date
}

interface QueuedJob {
  id: string
  queue: string
  payload: Readonly<Record<string, unknown>>
  key: string | undefined
  runAt: number
  attempt: number
}

/** A min-heap of deadlines by due time; entries go stale when their key is re-armed or removed. */
class DeadlineHeap {
  private readonly items: Deadline[] = []
  push(d: Deadline) {
    const items = this.items
    items.push(d)
    let i = items.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (items[parent]!.dueAt.getTime() <= d.dueAt.getTime()) break
      items[i] = items[parent]!
      i = parent
    }
    items[i] = d
  }
  peek(): Deadline | undefined {
    return this.items[0]
  }
  pop(): Deadline | undefined {
    const items = this.items
    const top = items[0]
    const last = items.pop()
    if (items.length > 0 && last !== undefined) {
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        const at = (k: number) => (k === i ? last : items[k]!).dueAt.getTime()
        if (l < items.length && at(l) < at(m)) m = l
        if (r < items.length && at(r) < at(m)) m = r
        if (m === i) break
        items[i] = items[m]!
        i = m
      }
      items[i] = last
    }
    return top
  }
}

/** One running claim loop, woken when a deadline earlier than the one it sleeps towards is armed. */
interface DeadlineWaiter {
  readonly kinds: ReadonlySet<string>
  plannedDue: number | undefined
  signal: Deferred.Deferred<void>
}

interface State {
  contacts: Map<string, ContactRow>
  identities: Map<string, { contactId: ContactId; identity: Identity }>
  conversations: Map<string, Conversation>
  /** contactId -> ids of its conversations, so per-contact lookups do not scan every conversation. */
  conversationsByContact: Map<string, Set<string>>
  messages: Map<string, Message>
  providerIndex: Map<string, MessageId>
  merges: Map<string, MergeRecord>
  events: DialogiEvent[]
  jobs: QueuedJob[]
  jobKeys: Set<string>
  deadlines: Map<string, Deadline>
  /** kind -> heap of its deadlines (with stale entries, skipped on read). */
  deadlineHeaps: Map<string, DeadlineHeap>
  slaClocks: Map<string, SlaClockRow>
  /** `conversationId target startedAt` -> outcome. */
  slaOutcomes: Map<string, SlaOutcome>
  /** `id version` -> recorded policy. */
  slaPolicies: Map<string, SlaPolicyRecord>
  /** id -> CSAT survey. */
  csatSurveys: Map<string, CsatSurvey>
}

const identityKey = (channel: string, address: string) => `${channel}\u0000${address}`

/**
 * The in-memory store: the reference implementation of the store contract, for unit tests and
 * for trying dialogi out. One transaction runs at a time; a failed transaction is rolled back
 * from an undo log, so it behaves like the database stores under the conformance suite.
 */
export const makeMemoryStore = (): Effect.Effect<StoreService> =>
  Effect.gen(function* () {
    const state: State = {
      contacts: new Map(),
      identities: new Map(),
      conversations: new Map(),
      conversationsByContact: new Map(),
      messages: new Map(),
      providerIndex: new Map(),
      merges: new Map(),
      events: [],
      jobs: [],
      jobKeys: new Set(),
      deadlines: new Map(),
      deadlineHeaps: new Map(),
      slaClocks: new Map(),
      slaOutcomes: new Map(),
      slaPolicies: new Map(),
      csatSurveys: new Map()
    }
    const mutex = yield* Effect.makeSemaphore(1)
    const listeners = new Set<(seq: number) => void>()
    const policies = new Map<string, QueuePolicy>()
    const dead: DeadJob[] = []
    let wakeJobs = yield* Deferred.make<void>()
    let undo: Array<() => void> | undefined
    /** kind -> earliest due time armed by the open transaction. */
    let armedInTx = new Map<string, number>()
    const waiters = new Set<DeadlineWaiter>()
    const routingState = makeMemoryRoutingState()

    const record = (revert: () => void) => {
      undo?.push(revert)
    }
    const setIn = <K, V>(map: Map<K, V>, key: K, value: V) => {
      const had = map.has(key)
      const previous = map.get(key)
      map.set(key, value)
      record(() => (had ? map.set(key, previous as V) : map.delete(key)))
    }

    const indexConversation = (contactId: string, id: string, add: boolean) => {
      const ids = state.conversationsByContact.get(contactId)
      if (!add) ids?.delete(id)
      else if (ids) ids.add(id)
      else state.conversationsByContact.set(contactId, new Set([id]))
    }
    /** Writes a conversation row, keeping the contact index in step (and undoable). */
    const putConversation = (c: Conversation) => {
      const id = c.id as string
      const previous = state.conversations.get(id)
      setIn(state.conversations, id, c)
      if (previous?.contactId === c.contactId) return
      if (previous) indexConversation(previous.contactId, id, false)
      indexConversation(c.contactId, id, true)
      record(() => {
        indexConversation(c.contactId, id, false)
        if (previous) indexConversation(previous.contactId, id, true)
      })
    }
    /** Listing order: newest activity first, then highest id. */
    const newer = (a: Conversation, b: Conversation) => {
      const ta = a.lastMessageAt.getTime()
      const tb = b.lastMessageAt.getTime()
      return ta !== tb ? ta > tb : a.id > b.id
    }

    const applyDeadline = (key: string, d: Deadline | undefined) => {
      if (d === undefined) {
        state.deadlines.delete(key)
        return
      }
      state.deadlines.set(key, d)
      let heap = state.deadlineHeaps.get(d.kind)
      if (heap === undefined) {
        heap = new DeadlineHeap()
        state.deadlineHeaps.set(d.kind, heap)
      }
      heap.push(d)
    }
    /** Sets or removes a deadline (undoable); a heap entry is live while the map holds that very object. */
    const putDeadline = (key: string, d: Deadline | undefined) => {
      const previous = state.deadlines.get(key)
      applyDeadline(key, d)
      record(() => applyDeadline(key, previous))
    }
    /** The earliest live deadline of `kind`, dropping stale heap entries on the way. */
    const earliest = (kind: string): Deadline | undefined => {
      const heap = state.deadlineHeaps.get(kind)
      for (;;) {
        const top = heap?.peek()
        if (top === undefined || state.deadlines.get(top.key) === top) return top
        heap!.pop()
      }
    }

    const contactOfRow = (row: ContactRow): Contact =>
      new Contact({
        id: row.id,
        name: row.name,
        attributes: row.attributes,
        mergedInto: row.mergedInto,
        createdAt: row.createdAt,
        identities: [...state.identities.values()]
          .filter((i) => i.contactId === row.id)
          .map((i) => i.identity)
      })

    const base: StoreTxBase = {
      lock: () => Effect.void,
      findIdentities: (keys) =>
        Effect.sync(() => {
          const found = new Map<string, IdentityRow>()
          for (const { channel, address } of keys) {
            const key = identityKey(channel, address)
            const row = state.identities.get(key)
            if (row) found.set(key, row)
          }
          return [...found.values()]
        }),
      getContact: (id) =>
        Effect.sync(() => {
          const row = state.contacts.get(id)
          return row ? contactOfRow(row) : undefined
        }),
      insertContacts: (contacts) =>
        Effect.sync(() => {
          for (const contact of contacts) {
            setIn(state.contacts, contact.id as string, {
              id: contact.id,
              name: contact.name,
              attributes: { ...contact.attributes },
              mergedInto: contact.mergedInto,
              createdAt: contact.createdAt
            })
            for (const identity of contact.identities)
              setIn(state.identities, identityKey(identity.channel, identity.address), {
                contactId: contact.id,
                identity
              })
          }
        }),
      addIdentity: (contactId, identity) =>
        Effect.sync(() =>
          setIn(state.identities, identityKey(identity.channel, identity.address), { contactId, identity })
        ),
      setIdentityVerified: (channel, address) =>
        Effect.sync(() => {
          const row = state.identities.get(identityKey(channel, address))
          if (row)
            setIn(state.identities, identityKey(channel, address), {
              contactId: row.contactId,
              identity: new Identity({ ...row.identity, verified: true })
            })
        }),
      moveIdentities: (to, identities) =>
        Effect.sync(() => {
          for (const identity of identities) {
            const key = identityKey(identity.channel, identity.address)
            const row = state.identities.get(key)
            if (row) setIn(state.identities, key, { contactId: to, identity: row.identity })
          }
        }),
      setMergedInto: (id, into) =>
        Effect.sync(() => {
          const row = state.contacts.get(id)
          if (row) setIn(state.contacts, id as string, { ...row, mergedInto: into })
        }),
      insertMerge: (merge) => Effect.sync(() => setIn(state.merges, merge.id as string, merge)),
      getMerge: (id) => Effect.sync(() => state.merges.get(id)),
      markMergeUndone: (id, at) =>
        Effect.sync(() => {
          const merge = state.merges.get(id)
          if (merge) setIn(state.merges, id as string, { ...merge, undoneAt: at })
        }),
      getConversations: (ids) =>
        Effect.sync(() => {
          const found: Conversation[] = []
          for (const id of new Set(ids)) {
            const c = state.conversations.get(id)
            if (c) found.push(c)
          }
          return found
        }),
      findOpenConversations: (contactIds) =>
        Effect.sync(() => {
          const found: Conversation[] = []
          for (const contactId of new Set(contactIds)) {
            let best: Conversation | undefined
            for (const id of state.conversationsByContact.get(contactId) ?? []) {
              const c = state.conversations.get(id)!
              if (c.status !== "resolved" && (best === undefined || newer(c, best))) best = c
            }
            if (best) found.push(best)
          }
          return found
        }),
      conversationsOf: (contactId) =>
        Effect.sync(() =>
          [...(state.conversationsByContact.get(contactId) ?? [])].map((id) => id as ConversationId)
        ),
      moveConversations: (ids, to) =>
        Effect.sync(() => {
          for (const id of ids) {
            const c = state.conversations.get(id)
            if (c) putConversation(new Conversation({ ...c, contactId: to }))
          }
        }),
      insertConversations: (cs) =>
        Effect.sync(() => {
          for (const c of cs) putConversation(c)
        }),
      // Like UPDATE ... WHERE id: a conversation that does not exist is not created.
      updateConversations: (cs) =>
        Effect.sync(() => {
          for (const c of cs) if (state.conversations.has(c.id)) putConversation(c)
        }),
      listConversations: (filter, page) =>
        Effect.sync(() => {
          const channelsOf = (id: ConversationId) => {
            const channels = new Set<string>()
            for (const m of state.messages.values()) if (m.conversationId === id) channels.add(m.channel)
            return channels
          }
          const viewer =
            filter.visibleTo === undefined ? undefined : routingState.participants.get(filter.visibleTo)
          let items = sortConversations(
            [...state.conversations.values()].filter(
              (c) =>
                matchesFilter(c, filter, channelsOf) &&
                (filter.visibleTo === undefined || canSee(viewer, c, routingState.routing.get(c.id)))
            )
          )
          if (page.after !== undefined) {
            const after = page.after
            items = items.filter((c) => conversationCursor(c) < after)
          }
          const slice = items.slice(0, page.limit)
          return {
            items: slice,
            next: items.length > page.limit ? conversationCursor(slice[slice.length - 1]!) : undefined
          }
        }),
      findMessagesByProviderIds: (keys) =>
        Effect.sync(() => {
          const found = new Map<string, Message>()
          for (const { channel, providerMessageId } of keys) {
            const id = state.providerIndex.get(identityKey(channel, providerMessageId))
            const m = id === undefined ? undefined : state.messages.get(id)
            if (m) found.set(m.id, m)
          }
          return [...found.values()]
        }),
      getMessage: (id) => Effect.sync(() => state.messages.get(id)),
      insertMessages: (items) =>
        Effect.sync(() => {
          const inserted: MessageId[] = []
          for (const { message } of items) {
            if (message.providerMessageId !== undefined) {
              const key = identityKey(message.channel, message.providerMessageId)
              if (state.providerIndex.has(key)) continue
              setIn(state.providerIndex, key, message.id)
            }
            setIn(state.messages, message.id as string, message)
            inserted.push(message.id)
          }
          return inserted
        }),
      setMessageStatus: (id, status, providerMessageId) =>
        Effect.sync(() => {
          const m = state.messages.get(id)
          if (!m) return
          const pid = providerMessageId ?? m.providerMessageId
          if (pid !== undefined && pid !== m.providerMessageId)
            setIn(state.providerIndex, identityKey(m.channel, pid), m.id)
          setIn(state.messages, id as string, new Message({ ...m, status, providerMessageId: pid }))
        }),
      lastInbound: (conversationId, channel) =>
        Effect.sync(() => {
          let latest: Message | undefined
          for (const m of state.messages.values())
            if (m.conversationId === conversationId && m.channel === channel && m.direction === "inbound")
              if (!latest || m.sentAt >= latest.sentAt) latest = m
          return latest
        }),
      thread: (ids) =>
        Effect.sync(() => {
          const wanted = new Set<string>(ids)
          return [...state.messages.values()]
            .filter((m) => wanted.has(m.conversationId))
            .sort((a, b) => a.sentAt.getTime() - b.sentAt.getTime() || (a.id < b.id ? -1 : 1))
        }),
      appendEvents: (bodies, at) =>
        Effect.sync(() => {
          const appended = bodies.map(
            (body, i) =>
              new DialogiEvent(
                {
                  seq: (state.events.length + i + 1) as EventSeq,
                  at,
                  body,
                  conversationId: conversationOf(body),
                  contactId: contactOf(body)
                },
                true
              )
          )
          const before = state.events.length
          state.events.push(...appended)
          record(() => {
            state.events.length = before
          })
          return appended
        }),
      eventsAfter: (seq, limit, filter) =>
        Effect.sync(() => {
          // Sequence numbers are gap-free from 1, so event `seq` sits at index `seq - 1`.
          const conversationId = filter?.conversationId
          if (conversationId === undefined) return state.events.slice(seq, seq + limit)
          const page: DialogiEvent[] = []
          for (let i = Math.max(0, seq); i < state.events.length && page.length < limit; i++)
            if (state.events[i]!.conversationId === conversationId) page.push(state.events[i]!)
          return page
        }),
      enqueueJob: (job: NewJob) =>
        Effect.sync(() => {
          if (job.key !== undefined) {
            const key = `${job.queue}\u0000${job.key}`
            if (state.jobKeys.has(key)) return
            state.jobKeys.add(key)
            record(() => state.jobKeys.delete(key))
          }
          const queued: QueuedJob = {
            id: `job_${state.jobs.length + dead.length + 1}_${Math.random().toString(36).slice(2)}`,
            queue: job.queue,
            payload: job.payload,
            key: job.key,
            runAt: job.runAt?.getTime() ?? Date.now(),
            attempt: 0
          }
          state.jobs.push(queued)
          record(() => {
            state.jobs = state.jobs.filter((j) => j !== queued)
          })
        }),
      armDeadlines: (deadlines) =>
        Effect.sync(() => {
          for (const d of deadlines) {
            putDeadline(d.key, { key: d.key, kind: d.kind, dueAt: d.dueAt, payload: d.payload, attempts: 0 })
            const due = d.dueAt.getTime()
            const before = armedInTx.get(d.kind)
            if (before === undefined || due < before) armedInTx.set(d.kind, due)
          }
        }),
      armDeadline: (d) => base.armDeadlines([d]),
      cancelDeadline: (key) =>
        Effect.sync(() => {
          if (!state.deadlines.has(key)) return false
          putDeadline(key, undefined)
          return true
        }),
      cancelDeadlines: (prefix) =>
        Effect.sync(() => {
          const keys = [...state.deadlines.keys()].filter((k) => k.startsWith(prefix))
          for (const key of keys) putDeadline(key, undefined)
          return keys.length
        }),
      getDeadline: (key) => Effect.sync(() => state.deadlines.get(key)),
      now: () => Effect.sync(() => new Date()),
      getSlaClocks: (ids, options) =>
        Effect.sync(() => ({
          now: new Date(),
          rows: [...new Set(ids)].flatMap((id) => {
            const row = state.slaClocks.get(id)
            return row === undefined ? [] : [row]
          }),
          conversations:
            options?.withConversations === true
              ? [...new Set(ids)].flatMap((id) => {
                  const c = state.conversations.get(id)
                  return c === undefined ? [] : [c]
                })
              : []
        })),
      putSlaClocks: (rows, outcomes = []) =>
        Effect.sync(() => {
          for (const row of rows) setIn(state.slaClocks, row.conversationId as string, row)
          for (const o of outcomes) {
            const key = `${o.conversationId} ${o.target} ${o.startedAt.getTime()}`
            const before = state.slaOutcomes.get(key)
            setIn(
              state.slaOutcomes,
              key,
              before === undefined
                ? o
                : {
                    ...before,
                    breached: before.breached || o.breached,
                    businessMs: o.businessMs ?? before.businessMs
                  }
            )
          }
        }),
      recordSlaPolicies: (policies) =>
        Effect.sync(() =>
          policies.filter((p) => {
            const key = `${p.id} ${p.version}`
            if (state.slaPolicies.has(key)) return false
            setIn(state.slaPolicies, key, p)
            return true
          })
        ),
      getSlaPolicies: (keys) =>
        Effect.sync(() =>
          keys.flatMap((k) => {
            const p = state.slaPolicies.get(`${k.id} ${k.version}`)
            return p === undefined ? [] : [p]
          })
        ),
      slaReport: (query) => Effect.sync(() => aggregateSlaOutcomes(state.slaOutcomes.values(), query)),
      csat: makeMemoryCsatTx({
        surveys: state.csatSurveys,
        setIn,
        contactOf: (channel, address) => state.identities.get(identityKey(channel, address))?.contactId
      }),
      routing: makeMemoryRoutingTx({
        state: routingState,
        setIn,
        conversations: () => state.conversations.values(),
        conversation: (id) => state.conversations.get(id),
        messages: () => state.messages.values()
      })
    }
    const tx: StoreTx = { ...base, ...composeIngestOps(base) }

    const wakeWorkers = () => Deferred.unsafeDone(wakeJobs, Effect.void)
    const notify = () => {
      const head = state.events.length
      for (const listener of listeners) listener(head)
      wakeWorkers()
    }

    const transaction: StoreService["transaction"] = (f) =>
      mutex.withPermits(1)(
        Effect.suspend(() => {
          const eventsBefore = state.events.length
          const jobsBefore = state.jobs.length
          undo = []
          armedInTx = new Map()
          return f(tx).pipe(
            Effect.onExit((exit) =>
              Effect.sync(() => {
                const log = undo ?? []
                undo = undefined
                if (exit._tag === "Failure") for (const revert of log.reverse()) revert()
                else {
                  if (state.events.length > eventsBefore || state.jobs.length !== jobsBefore) notify()
                  if (armedInTx.size > 0) wakeDeadlines(armedInTx)
                }
              })
            )
          )
        })
      )

    const claim = (queue: string): QueuedJob | undefined => {
      const now = Date.now()
      const index = state.jobs.findIndex((j) => j.queue === queue && j.runAt <= now)
      if (index < 0) return undefined
      const [job] = state.jobs.splice(index, 1)
      return job
    }

    const runJob = (queued: QueuedJob, handler: (job: Job) => Effect.Effect<void, JobRetry>) => {
      const policy = policies.get(queued.queue) ?? { retryLimit: 0, retryDelayMs: 1000, backoff: false }
      const attempt = queued.attempt + 1
      const job: Job = {
        id: queued.id,
        queue: queued.queue,
        payload: queued.payload,
        attempt,
        lastAttempt: attempt > policy.retryLimit
      }
      return handler(job).pipe(
        Effect.catchAllDefect((defect) =>
          Effect.fail<JobRetry>({ _tag: "JobRetry", reason: String(defect) })
        ),
        Effect.catchAll((retry) =>
          Effect.sync(() => {
            if (job.lastAttempt) {
              dead.push({
                id: job.id,
                queue: job.queue,
                payload: job.payload,
                reason: retry.reason,
                attempts: attempt
              })
              return
            }
            state.jobs.push({
              ...queued,
              attempt,
              runAt: Date.now() + (retry.delayMs ?? retryDelay(policy, attempt))
            })
            wakeWorkers()
          })
        )
      )
    }

    const nextDue = (queue: string): number | undefined => {
      let due: number | undefined
      for (const j of state.jobs) if (j.queue === queue && (due === undefined || j.runAt < due)) due = j.runAt
      return due
    }

    const work: StoreService["work"] = (queue, handler, options) =>
      Effect.gen(function* () {
        const concurrency = Math.max(1, options?.concurrency ?? 1)
        const running = yield* Effect.makeSemaphore(concurrency)
        const loop = Effect.gen(function* () {
          for (;;) {
            const queued = claim(queue)
            if (queued) {
              yield* running.take(1)
              yield* Effect.fork(runJob(queued, handler).pipe(Effect.ensuring(running.release(1))))
              continue
            }
            const due = nextDue(queue)
            const wait = wakeJobs
            const sleep = due === undefined ? 60_000 : Math.max(1, due - Date.now())
            yield* Deferred.await(wait).pipe(Effect.timeoutOption(sleep), Effect.asVoid)
            // Every queue's loop waits on the same signal: only the first to see it fired replaces
            // it. A second loop replacing it again left the first waiting on a signal nobody
            // would fire, so its jobs waited for the poll timeout.
            const fired = Option.isSome(yield* Deferred.poll(wait))
            if (fired && wakeJobs === wait) wakeJobs = Deferred.unsafeMake<void>(FiberId.none)
          }
        })
        const fiber = yield* Effect.forkDaemon(loop)
        yield* Effect.addFinalizer(() => Fiber.interrupt(fiber))
      })

    /** Wakes the claim loops that sleep past the earliest deadline just armed for one of their kinds. */
    const wakeDeadlines = (armed: ReadonlyMap<string, number>) => {
      for (const waiter of waiters)
        for (const [kind, due] of armed)
          if (waiter.kinds.has(kind) && (waiter.plannedDue === undefined || due < waiter.plannedDue)) {
            Deferred.unsafeDone(waiter.signal, Effect.void)
            break
          }
    }

    /** Claims, handles and removes up to `batchSize` due deadlines in one transaction. */
    const claimDeadlines = <E>(
      kinds: ReadonlyArray<string>,
      handler: (deadline: Deadline, tx: StoreTx) => Effect.Effect<void, E>,
      options: DeadlineRunOptions | undefined,
      batchSize: number
    ) =>
      transaction((t) =>
        Effect.gen(function* () {
          const now = Date.now()
          const due: Deadline[] = []
          for (const kind of kinds)
            for (let d = earliest(kind); d !== undefined && due.length < batchSize; d = earliest(kind)) {
              if (d.dueAt.getTime() > now) break
              due.push(d)
              putDeadline(d.key, undefined)
            }
          due.sort((a, b) => a.dueAt.getTime() - b.dueAt.getTime())
          if (due.length > 0 && options?.prefetch) yield* options.prefetch(due, t)
          for (const d of due) {
            // A savepoint: a failed handler undoes only its own writes.
            const mark = undo!.length
            const exit = yield* Effect.exit(handler(d, t))
            if (Exit.isSuccess(exit)) continue
            if (Cause.isInterruptedOnly(exit.cause)) return yield* Effect.failCause(exit.cause)
            for (const revert of undo!.splice(mark).reverse()) revert()
            const attempts = d.attempts + 1
            if (!state.deadlines.has(d.key))
              putDeadline(d.key, {
                ...d,
                attempts,
                dueAt: new Date(Date.now() + deadlineRetryDelay(options, attempts))
              })
            options?.onError?.(Cause.squash(exit.cause), d)
          }
          if (due.length > 0 && options?.beforeCommit) yield* options.beforeCommit(t)
          return due.length
        })
      )

    const runDeadlines: StoreService["runDeadlines"] = (kindOrKinds, handler, options) =>
      Effect.gen(function* () {
        const kinds = typeof kindOrKinds === "string" ? [kindOrKinds] : [...kindOrKinds]
        const batchSize = Math.max(1, options?.batchSize ?? 50)
        const maxWait = Math.min(60_000, Math.max(1, options?.maxWaitMs ?? 60_000))
        const loop = Effect.gen(function* () {
          const waiter: DeadlineWaiter = {
            kinds: new Set(kinds),
            plannedDue: undefined,
            signal: yield* Deferred.make<void>()
          }
          waiters.add(waiter)
          yield* Effect.addFinalizer(() => Effect.sync(() => waiters.delete(waiter)))
          for (;;) {
            // A fresh signal before looking: an arm that commits from here on wakes this loop.
            waiter.signal = yield* Deferred.make<void>()
            waiter.plannedDue = undefined
            const claimed = yield* claimDeadlines(kinds, handler, options, batchSize)
            if (claimed >= batchSize) continue
            let next: number | undefined
            for (const kind of kinds) {
              const due = earliest(kind)?.dueAt.getTime()
              if (due !== undefined && (next === undefined || due < next)) next = due
            }
            const wait = next === undefined ? maxWait : Math.min(maxWait, next - Date.now() + 1)
            if (wait <= 0) continue
            waiter.plannedDue = next
            yield* Deferred.await(waiter.signal).pipe(Effect.timeoutOption(wait), Effect.asVoid)
          }
        }).pipe(Effect.scoped)
        const concurrency = Math.max(1, options?.concurrency ?? 1)
        for (let i = 0; i < concurrency; i++) {
          const fiber = yield* Effect.forkDaemon(loop)
          yield* Effect.addFinalizer(() => Fiber.interrupt(fiber))
        }
      })

    const store: StoreService = {
      name: "memory",
      transaction,
      read: (f) => f(tx),
      watchEvents: (listener) => {
        listeners.add(listener)
        return () => listeners.delete(listener)
      },
      defineQueue: (queue, policy) => Effect.sync(() => void policies.set(queue, policy)),
      work,
      runDeadlines,
      deadJobs: (queue) => Effect.sync(() => dead.filter((j) => j.queue === queue)),
      close: Effect.void
    }
    return store
  })

/** A layer providing the in-memory {@link Store}. */
export const layer: Layer.Layer<Store> = Layer.effect(Store, makeMemoryStore())
