import { Effect, Schema } from "effect"
import type { Contact } from "../../domain/Contact.js"
import type { Conversation } from "../../domain/Conversation.js"
import { InvalidInput, type StoreError } from "../../domain/Errors.js"
import type { EventBody } from "../../domain/Event.js"
import type { ContactId, ConversationId } from "../../domain/Ids.js"
import {
  expectedDeadlines,
  onDeadline,
  onInbound,
  onPublicReply,
  onStatusChange,
  type PolicyOf,
  responseClock,
  type SlaDeadlinePayload,
  type SlaStep,
  slaClockKeyPrefix
} from "../../sla/clockTransitions.js"
import {
  emptyClockState,
  type SlaClock,
  type SlaClockRow,
  type SlaClockState,
  type SlaOutcome,
  type SlaReportQuery
} from "../../sla/SlaClock.js"
import {
  encodeSlaPolicy,
  firstMatchingPolicy,
  policiesNeedContact,
  policyVersion,
  SlaPolicy,
  type SlaTarget
} from "../../sla/SlaPolicy.js"
import { type SlaReport, slaReportRows } from "../../sla/SlaReport.js"
import { isKnownTimeZone } from "../../sla/ZoneOffsets.js"
import type { Deadline, DeadlineRunOptions, NewDeadline, StoreService, StoreTx } from "../../store/Store.js"
import type { AcknowledgementContext, SlaOptions } from "./SlaOptions.js"

/** A customer message of an ingest batch, as the SLA engine sees it. */
export interface SlaInbound {
  /** The conversation before the message (a new conversation as created). */
  readonly conversation: Conversation
  readonly channel: string
  /** The adapter marked the sender as automated (`metadata.automated`): never acknowledged. */
  readonly automated: boolean
}

/** What `hub.sla.expectedReply` answers: the customer is waiting for this reply. */
export interface ExpectedReply {
  readonly conversationId: ConversationId
  readonly target: Extract<SlaTarget, "first_response" | "next_response">
  readonly policyId: string
  /** When the reply is due; absent while the clock is paused (or the calendar never opens). */
  readonly dueAt: Date | undefined
  readonly paused: boolean
  readonly breached: boolean
}

/** Writes an acknowledgement through the hub's normal reply path, inside `tx`. */
export type QueueAcknowledgement = (
  tx: StoreTx,
  conversation: Conversation,
  channel: string,
  text: string
) => Effect.Effect<void, StoreError>

/** The SLA engine of one hub: applies clock transitions inside the hub's transactions. */
export interface SlaEngine {
  /** False without policies: every hook is then a no-op that costs nothing. */
  readonly enabled: boolean
  /** Records the policy versions in use; a version not seen before appends `sla.policy_changed`. */
  readonly recordPolicies: Effect.Effect<void, StoreError>
  /** The clock rows and deadlines of a batch of customer messages (in order), with one bulk read. */
  readonly planInbound: (
    tx: StoreTx,
    inbound: ReadonlyArray<SlaInbound>,
    /** The clock rows and store time, when the caller has already read them. */
    loaded?: { readonly now: Date; readonly rows: ReadonlyArray<SlaClockRow> }
  ) => Effect.Effect<{ slaClocks: SlaClockRow[]; deadlines: NewDeadline[] }, StoreError>
  /** After a public agent or bot reply: stops response clocks; returns the events to append. */
  readonly afterReply: (tx: StoreTx, conversation: Conversation) => Effect.Effect<EventBody[], StoreError>
  /** After a status change: stops, restarts, pauses or resumes clocks; returns the events to append. */
  readonly afterStatusChange: (
    tx: StoreTx,
    before: Conversation,
    after: Conversation
  ) => Effect.Effect<EventBody[], StoreError>
  /** Handles a fired SLA deadline inside the claiming transaction. */
  readonly handleDeadline: (deadline: Deadline, tx: StoreTx) => Effect.Effect<void, StoreError>
  /** The options to run SLA deadlines with: the host's, plus the batch read and write hooks. */
  readonly deadlineOptions: DeadlineRunOptions
  /** Starts clocks on stored conversations that have none; returns how many got clocks. */
  readonly startClocks: (conversationIds: ReadonlyArray<ConversationId>) => Effect.Effect<number, StoreError>
  readonly expectedReply: (
    conversationId: ConversationId
  ) => Effect.Effect<ExpectedReply | undefined, StoreError>
  readonly report: (query: SlaReportQuery) => Effect.Effect<SlaReport, StoreError>
}

const decodePolicy = Schema.decodeUnknown(SlaPolicy)
const decodePolicySync = Schema.decodeUnknownSync(SlaPolicy)

const policyKey = (id: string, version: string) => `${id} ${version}`

/** Formats a due time for a customer; an unknown locale falls back to English. */
const formatDue = (dueAt: Date, locale: string, timeZone: string): string => {
  const options: Intl.DateTimeFormatOptions = { timeZone, dateStyle: "medium", timeStyle: "short" }
  try {
    return new Intl.DateTimeFormat(locale, options).format(dueAt)
  } catch {
    return new Intl.DateTimeFormat("en", options).format(dueAt)
  }
}

/**
 * Builds the engine. Policies are validated here: a bad policy (or a predicate name the host
 * did not supply) fails the hub's start with `InvalidInput` instead of misbehaving later.
 */
export const makeSlaEngine = (
  store: StoreService,
  options: SlaOptions | undefined,
  deps: {
    readonly log: (level: "debug" | "info" | "warn" | "error", message: string, data?: unknown) => void
    readonly queueAcknowledgement: QueueAcknowledgement
  }
): Effect.Effect<SlaEngine, InvalidInput> =>
  Effect.gen(function* () {
    const policies: SlaPolicy[] = []
    for (const [i, input] of (options?.policies ?? []).entries()) {
      const policy = yield* decodePolicy(input instanceof SlaPolicy ? encodeSlaPolicy(input) : input).pipe(
        Effect.mapError((e) => new InvalidInput({ what: `sla.policies[${i}]`, message: e.message }))
      )
      if (policies.some((p) => p.id === policy.id))
        return yield* new InvalidInput({
          what: `sla.policies[${i}]`,
          message: `duplicate policy id ${policy.id}`
        })
      const predicate = policy.match.predicate
      if (predicate !== undefined && options?.predicates?.[predicate] === undefined)
        return yield* new InvalidInput({
          what: `sla.policies[${i}]`,
          message: `match.predicate "${predicate}" is not in sla.predicates`
        })
      policies.push(policy)
    }
    const predicates = options?.predicates ?? {}
    const needContact = policiesNeedContact(policies)
    const current = new Map(policies.map((p) => [p.id, p]))
    // Policy versions are immutable, so a cache of every version seen never goes stale.
    const versions = new Map(policies.map((p) => [policyKey(p.id, policyVersion(p)), p]))

    const policyOf: PolicyOf = (clock) =>
      versions.get(policyKey(clock.policyId, clock.policyVersion)) ?? current.get(clock.policyId)

    /** Loads the policy versions of these clocks that this instance has not seen yet. */
    const ensureVersions = (tx: StoreTx, states: Iterable<SlaClockState>) =>
      Effect.gen(function* () {
        const missing = new Map<string, { id: string; version: string }>()
        for (const state of states)
          for (const c of state.clocks) {
            const key = policyKey(c.policyId, c.policyVersion)
            if (!versions.has(key)) missing.set(key, { id: c.policyId, version: c.policyVersion })
          }
        if (missing.size === 0) return
        for (const record of yield* tx.getSlaPolicies([...missing.values()]))
          versions.set(policyKey(record.id, record.version), decodePolicySync(record.policy))
      })

    const contactsFor = (tx: StoreTx, ids: Iterable<ContactId>) =>
      Effect.gen(function* () {
        const contacts = new Map<string, Contact>()
        if (!needContact) return contacts
        for (const id of new Set(ids)) {
          const contact = yield* tx.getContact(id)
          if (contact !== undefined) contacts.set(id, contact)
        }
        return contacts
      })

    const matchPolicy = (conversation: Conversation, contact: Contact | undefined, channel: string) =>
      firstMatchingPolicy(policies, { conversation, contact, channel }, predicates)

    /**
     * A transition outside the deadline claimer (a reply, a status change). Deadlines are
     * cancelled first and the clock row is locked second: the order the claimer takes them in
     * (it deletes the deadlines it claims, then reads their clock rows), so the two never
     * deadlock, and a deadline that fired meanwhile is already in the row read here. The
     * deadlines the new state expects are then armed again.
     */
    const transition = (
      tx: StoreTx,
      conversationId: ConversationId,
      compute: (input: {
        now: Date
        state: SlaClockState
        stored: boolean
      }) => Effect.Effect<SlaStep | undefined, StoreError>
    ) =>
      Effect.gen(function* () {
        yield* tx.cancelDeadlines(slaClockKeyPrefix(conversationId))
        const { now, rows } = yield* tx.getSlaClocks([conversationId])
        const state = rows[0]?.state ?? emptyClockState
        yield* ensureVersions(tx, [state])
        const step = yield* compute({ now, state, stored: rows.length > 0 })
        const final = step?.state ?? state
        if (step !== undefined && (step.changed || step.outcomes.length > 0))
          yield* tx.putSlaClocks(step.changed ? [{ conversationId, state: final }] : [], step.outcomes)
        const expected = expectedDeadlines(conversationId, final)
        if (expected.length > 0) yield* tx.armDeadlines(expected)
        return step === undefined ? [] : [...step.events]
      })

    /** What the handlers of one claimed batch read in one statement and write in two. */
    interface Batch {
      readonly now: Date
      readonly states: Map<string, SlaClockState>
      readonly conversations: Map<string, Conversation>
      readonly changed: Set<ConversationId>
      readonly outcomes: SlaOutcome[]
      readonly events: EventBody[]
      readonly arms: NewDeadline[]
    }
    // Keyed by the claim's transaction: a batch that is rolled back and run again gets a fresh one.
    const batches = new WeakMap<StoreTx, Batch>()

    const prefetch = (deadlines: ReadonlyArray<Deadline>, tx: StoreTx) =>
      Effect.gen(function* () {
        const ids = [
          ...new Set(
            deadlines.map(
              (d) => (d.payload as unknown as SlaDeadlinePayload).conversationId as ConversationId
            )
          )
        ]
        const { now, rows, conversations } = yield* tx.getSlaClocks(ids, { withConversations: true })
        yield* ensureVersions(
          tx,
          rows.map((r) => r.state)
        )
        const batch: Batch = {
          now,
          states: new Map(rows.map((r) => [r.conversationId, r.state])),
          conversations: new Map(conversations.map((c) => [c.id, c])),
          changed: new Set(),
          outcomes: [],
          events: [],
          arms: []
        }
        batches.set(tx, batch)
        return batch
      })

    const flush = (tx: StoreTx) =>
      Effect.gen(function* () {
        const batch = batches.get(tx)
        if (batch === undefined) return
        batches.delete(tx)
        if (batch.changed.size > 0 || batch.outcomes.length > 0)
          yield* tx.putSlaClocks(
            [...batch.changed].map((conversationId) => ({
              conversationId,
              state: batch.states.get(conversationId)!
            })),
            batch.outcomes
          )
        if (batch.arms.length > 0) yield* tx.armDeadlines(batch.arms)
        if (batch.events.length > 0) yield* tx.appendEvents(batch.events, batch.now)
      })

    const noEvents = Effect.succeed<EventBody[]>([])

    const acknowledge = (
      tx: StoreTx,
      conversation: Conversation,
      state: SlaClockState,
      payload: SlaDeadlinePayload
    ) =>
      Effect.gen(function* () {
        const clock = responseClock(state)
        // The burst was answered (or resolved) before the acknowledgement's turn came.
        if (clock === undefined || clock.startedAt.getTime() !== payload.startedAt) return
        if (conversation.status === "resolved" || clock.dueAt === undefined) return
        const policy = policyOf(clock)
        const template = options?.acknowledgement
        if (policy === undefined || !policy.autoAcknowledge || template === undefined) return
        const contact = yield* tx.getContact(conversation.contactId)
        const channel = clock.channel ?? conversation.lastInboundChannel
        if (contact === undefined || channel === undefined) return
        const attributes = contact.attributes
        const locale =
          typeof attributes.locale === "string" && attributes.locale !== ""
            ? attributes.locale
            : (options?.defaultLocale ?? "en")
        const timeZone =
          typeof attributes.timeZone === "string" && isKnownTimeZone(attributes.timeZone)
            ? attributes.timeZone
            : policy.calendar.timeZone
        const context: AcknowledgementContext = {
          dueAt: clock.dueAt,
          dueText: formatDue(clock.dueAt, locale, timeZone),
          locale,
          timeZone,
          channel,
          target: clock.target,
          policy,
          conversation,
          contact
        }
        let text: string | undefined
        try {
          text = template(context)
        } catch (error) {
          deps.log("error", `sla acknowledgement template failed for ${conversation.id}`, error)
          return
        }
        if (text === undefined || text.trim() === "") return
        yield* deps.queueAcknowledgement(tx, conversation, channel, text)
      })

    /** Fires one deadline against its claim batch; the writes go out with the batch's flush. */
    const fire = (deadline: Deadline, tx: StoreTx, batch: Batch) =>
      Effect.gen(function* () {
        const payload = deadline.payload as unknown as SlaDeadlinePayload
        const conversation = batch.conversations.get(payload.conversationId)
        if (conversation === undefined) return
        const state = batch.states.get(payload.conversationId) ?? emptyClockState
        if (payload.phase === "ack") return yield* acknowledge(tx, conversation, state, payload)
        const step = onDeadline({ conversation, state, payload, now: batch.now, policyOf })
        // Recorded only once the step is computed: a handler that fails leaves the batch as it was.
        if (step.changed) {
          batch.states.set(conversation.id, step.state)
          batch.changed.add(conversation.id)
        }
        batch.outcomes.push(...step.outcomes)
        batch.events.push(...step.events)
        batch.arms.push(...step.arm)
      })

    const engine: SlaEngine = {
      enabled: policies.length > 0,
      recordPolicies:
        policies.length === 0
          ? Effect.void
          : store.transaction((tx) =>
              Effect.gen(function* () {
                const recorded = yield* tx.recordSlaPolicies(
                  policies.map((p) => ({ id: p.id, version: policyVersion(p), policy: encodeSlaPolicy(p) }))
                )
                if (recorded.length === 0) return
                const { now } = yield* tx.getSlaClocks([])
                yield* tx.appendEvents(
                  recorded.map((r) => ({
                    _tag: "sla.policy_changed" as const,
                    policyId: r.id,
                    version: r.version,
                    policy: versions.get(policyKey(r.id, r.version))!
                  })),
                  now
                )
              })
            ),
      planInbound: (tx, inbound, loaded) =>
        Effect.gen(function* () {
          const slaClocks: SlaClockRow[] = []
          const deadlines: NewDeadline[] = []
          if (policies.length === 0 || inbound.length === 0) return { slaClocks, deadlines }
          const { now, rows } =
            loaded ?? (yield* tx.getSlaClocks([...new Set(inbound.map((i) => i.conversation.id))]))
          const states = new Map<string, SlaClockState>(rows.map((r) => [r.conversationId, r.state]))
          yield* ensureVersions(tx, states.values())
          const contacts = yield* contactsFor(
            tx,
            inbound.map((i) => i.conversation.contactId)
          )
          const changed = new Set<ConversationId>()
          for (const item of inbound) {
            const { conversation } = item
            const step = onInbound({
              conversation,
              state: states.get(conversation.id) ?? emptyClockState,
              now,
              channel: item.channel,
              policy: matchPolicy(conversation, contacts.get(conversation.contactId), item.channel),
              policyOf,
              acknowledgeable: !item.automated
            })
            // An inbound message only starts and resumes clocks; nothing is armed that needs a cancel.
            for (const prefix of step.cancel) yield* tx.cancelDeadlines(prefix)
            if (step.changed) {
              states.set(conversation.id, step.state)
              changed.add(conversation.id)
            }
            deadlines.push(...step.arm)
          }
          for (const id of changed) slaClocks.push({ conversationId: id, state: states.get(id)! })
          return { slaClocks, deadlines }
        }),
      afterReply: (tx, conversation) =>
        policies.length === 0
          ? noEvents
          : transition(tx, conversation.id, ({ now, state }) =>
              Effect.succeed(
                state.responded && state.clocks.length === 0
                  ? undefined
                  : onPublicReply({ conversation, state, now, policyOf })
              )
            ),
      afterStatusChange: (tx, before, after) =>
        policies.length === 0 || before.status === after.status
          ? noEvents
          : transition(tx, after.id, ({ now, state, stored }) =>
              Effect.gen(function* () {
                if (!stored && before.status !== "resolved") return undefined
                const contacts = yield* contactsFor(tx, [after.contactId])
                const policy =
                  before.status === "resolved"
                    ? matchPolicy(after, contacts.get(after.contactId), after.lastInboundChannel ?? "")
                    : undefined
                return onStatusChange({
                  conversation: after,
                  from: before.status,
                  to: after.status,
                  state,
                  now,
                  policy,
                  policyOf
                })
              })
            ),
      deadlineOptions: {
        ...options?.deadlines,
        prefetch: (deadlines, tx) => Effect.asVoid(prefetch(deadlines, tx)),
        beforeCommit: flush
      },
      handleDeadline: (deadline, tx) =>
        Effect.gen(function* () {
          const batch = batches.get(tx)
          if (batch !== undefined) return yield* fire(deadline, tx, batch)
          // Run without the batch hooks: a batch of one.
          yield* fire(deadline, tx, yield* prefetch([deadline], tx))
          yield* flush(tx)
        }),
      startClocks: (ids) =>
        policies.length === 0 || ids.length === 0
          ? Effect.succeed(0)
          : store.transaction((tx) =>
              Effect.gen(function* () {
                // One read for the conversations and their clock rows (locked, so a concurrent
                // start of the same conversation waits and then sees this one's row).
                const loaded = yield* tx.getSlaClocks(ids, { withConversations: true })
                const { conversations, rows } = loaded
                const tracked = new Set<string>(rows.map((r) => r.conversationId))
                // As if the customer had just written on their last channel; nobody is
                // acknowledged for a message they did not just send.
                const inbound = conversations
                  .filter((c) => !tracked.has(c.id) && c.status !== "resolved")
                  .map((c) => ({ conversation: c, channel: c.lastInboundChannel ?? "", automated: true }))
                const planned = yield* engine.planInbound(tx, inbound, loaded)
                yield* tx.putSlaClocks(planned.slaClocks)
                yield* tx.armDeadlines(planned.deadlines)
                return planned.slaClocks.length
              })
            ),
      expectedReply: (conversationId) =>
        store.read((tx) =>
          Effect.map(tx.getSlaClocks([conversationId]), ({ rows }) => {
            const clock: SlaClock | undefined =
              rows[0] === undefined ? undefined : responseClock(rows[0].state)
            if (clock === undefined) return undefined
            return {
              conversationId,
              target: clock.target as ExpectedReply["target"],
              policyId: clock.policyId,
              dueAt: clock.dueAt,
              paused: clock.state === "paused",
              breached: clock.breached
            }
          })
        ),
      report: (query) =>
        store.read((tx) =>
          Effect.map(tx.slaReport(query), (lines) => ({
            from: query.from,
            to: query.to,
            groupBy: query.groupBy,
            rows: slaReportRows(lines)
          }))
        )
    }
    return engine
  })
