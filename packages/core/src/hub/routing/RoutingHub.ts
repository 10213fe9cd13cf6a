import { Effect, Schedule, Schema, type Scope } from "effect"
import type { Assignee, Conversation } from "../../domain/Conversation.js"
import {
  type InvalidAddress,
  InvalidInput,
  NotFound,
  type StoreError,
  StoreError as StoreErrorClass
} from "../../domain/Errors.js"
import type { ConversationId } from "../../domain/Ids.js"
import { type Callback, CallbackRequest } from "../../routing/Callback.js"
import { type Handoff, HandoffRequest } from "../../routing/Handoff.js"
import {
  type Availability,
  Participant,
  ParticipantInput,
  Team,
  TeamInput
} from "../../routing/Participant.js"
import type {
  AtCapacity,
  CallbackStateConflict,
  HandoffAlreadyPending,
  HandoffNotPending,
  NotPermitted,
  RoutingNotFound
} from "../../routing/RoutingErrors.js"
import { RoutingNotFound as RoutingNotFoundError } from "../../routing/RoutingErrors.js"
import type { RoutingEntry } from "../../routing/RoutingStore.js"
import type { Deadline, StoreService, StoreTx } from "../../store/Store.js"
import type { AdapterRegistry } from "../AdapterRegistry.js"
import { callbackKind, fireCallback, missCallback, moveCallback, scheduleCallback } from "./callbacks.js"
import { acceptHandoff, declineHandoff, expireHandoff, handoffKind, requestHandoff } from "./handoffs.js"
import {
  armDrains,
  drainTeam,
  type LogFn,
  type PlaceResult,
  placeInTeam,
  routingKey,
  routingKind
} from "./placement.js"
import { type ResolvedRoutingOptions, type RoutingOptions, resolveRoutingOptions } from "./RoutingOptions.js"
import { armNewConversations, routeByRules } from "./routeByRules.js"

/** Admin and inspection of teams, participants and queues. */
export interface RoutingAdmin {
  /** Creates or updates a team; omitted fields keep their value (defaults on create). */
  readonly upsertTeam: (input: TeamInput) => Effect.Effect<Team, InvalidInput | RoutingNotFound | StoreError>
  /** Creates or updates an agent or bot; omitted fields keep their value (defaults on create). */
  readonly upsertParticipant: (
    input: ParticipantInput
  ) => Effect.Effect<Participant, InvalidInput | RoutingNotFound | StoreError>
  readonly setAvailability: (
    participantId: string,
    availability: Availability
  ) => Effect.Effect<Participant, InvalidInput | RoutingNotFound | StoreError>
  readonly participant: (id: string) => Effect.Effect<Participant, RoutingNotFound | StoreError>
  /** Every participant, or one team's members. */
  readonly participants: (filter?: {
    readonly team?: string | undefined
  }) => Effect.Effect<ReadonlyArray<Participant>, StoreError>
  readonly teams: () => Effect.Effect<ReadonlyArray<Team>, StoreError>
  /** A team's waiting conversations, in the order they will be taken. */
  readonly queue: (teamId: string, limit?: number) => Effect.Effect<ReadonlyArray<RoutingEntry>, StoreError>
  /** Routes a conversation now by the rules (or back into its team), as a new one would be. */
  readonly route: (conversationId: string) => Effect.Effect<PlaceResult, NotFound | StoreError>
}

/** Deciding on handoffs. */
export interface HandoffApi {
  /** The participant takes the conversation; of concurrent accepts exactly one wins. */
  readonly accept: (
    handoffId: string,
    participantId: string
  ) => Effect.Effect<
    Handoff,
    RoutingNotFound | HandoffNotPending | NotPermitted | AtCapacity | NotFound | StoreError
  >
  /** The participant declines; the conversation is routed again without them. */
  readonly decline: (
    handoffId: string,
    participantId: string,
    reason?: string
  ) => Effect.Effect<Handoff, RoutingNotFound | HandoffNotPending | NotPermitted | StoreError>
  readonly get: (handoffId: string) => Effect.Effect<Handoff, RoutingNotFound | StoreError>
  /** A conversation's handoffs, oldest first. */
  readonly list: (conversationId: string) => Effect.Effect<ReadonlyArray<Handoff>, StoreError>
}

/** Callbacks in a window the customer picked. */
export interface CallbackApi {
  /** Schedules a callback; durable deadlines make it due at the window's start and missed after its end. */
  readonly schedule: (
    conversationId: string,
    request: CallbackRequest
  ) => Effect.Effect<Callback, InvalidInput | InvalidAddress | NotFound | StoreError>
  /** An agent starts the call (due -> in_progress). */
  readonly start: (
    callbackId: string,
    participantId: string
  ) => Effect.Effect<Callback, RoutingNotFound | CallbackStateConflict | StoreError>
  /** The call happened (in_progress -> completed). */
  readonly complete: (
    callbackId: string
  ) => Effect.Effect<Callback, RoutingNotFound | CallbackStateConflict | StoreError>
  /** The call failed (no answer, say): missed, then a new window is offered on the customer's last channel. */
  readonly miss: (
    callbackId: string,
    reason: string
  ) => Effect.Effect<Callback, RoutingNotFound | CallbackStateConflict | StoreError>
  readonly get: (callbackId: string) => Effect.Effect<Callback, RoutingNotFound | StoreError>
  /** A conversation's callbacks by window start. */
  readonly list: (conversationId: string) => Effect.Effect<ReadonlyArray<Callback>, StoreError>
}

/** The routing part of the hub and the hooks the rest of the hub calls. */
export interface Routing {
  readonly handoff: (
    conversationId: string,
    request: HandoffRequest
  ) => Effect.Effect<Handoff, InvalidInput | NotFound | RoutingNotFound | HandoffAlreadyPending | StoreError>
  readonly handoffs: HandoffApi
  readonly callbacks: CallbackApi
  readonly routing: RoutingAdmin
  /** Which of `ids` the participant may see. */
  readonly visibleTo: (
    participantId: string,
    ids: ReadonlyArray<ConversationId>
  ) => Effect.Effect<ReadonlyArray<ConversationId>, StoreError>
  /** Called by ingest, in its transaction, with the conversations it opened. */
  readonly onConversationsOpened:
    | ((tx: StoreTx, ids: ReadonlyArray<ConversationId>, now: Date) => Effect.Effect<void, StoreError>)
    | undefined
  /** Called by status and assignment changes, in their transaction. */
  readonly afterConversationChange: (
    tx: StoreTx,
    before: Conversation,
    after: Conversation,
    now: Date
  ) => Effect.Effect<void, StoreError>
  /** Runs the routing, handoff and callback deadlines until the scope closes. */
  readonly runWorkers: Effect.Effect<void, StoreError, Scope.Scope>
}

const invalid = (what: string) => (e: unknown) =>
  new InvalidInput({ what, message: e instanceof Error ? e.message : String(e) })

// Lock waits between instances can end in a deadlock the database breaks by failing one side;
// every attempt is a fresh transaction, so retrying is safe.
const retryTransient = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
  effect.pipe(
    Effect.retry({
      schedule: Schedule.exponential("20 millis").pipe(
        Schedule.jittered,
        Schedule.intersect(Schedule.recurs(8))
      ),
      while: (e: E) => e instanceof StoreErrorClass && e.transient
    })
  )

const sameAssignee = (a: Assignee, b: Assignee) =>
  a._tag === b._tag && (a._tag === "none" || (b._tag !== "none" && a.id === b.id))

/** Builds the routing part of a hub. */
export const makeRouting = (
  store: StoreService,
  registry: AdapterRegistry,
  routingOptions: RoutingOptions | undefined,
  log: LogFn
): Routing => {
  const options: ResolvedRoutingOptions = resolveRoutingOptions(routingOptions)
  const tx = <A, E>(f: (tx: StoreTx) => Effect.Effect<A, E>) => retryTransient(store.transaction(f))

  const requireParticipant = (t: StoreTx, id: string) =>
    Effect.flatMap(t.routing.getParticipants([id]), ([p]) =>
      p ? Effect.succeed(p) : Effect.fail(new RoutingNotFoundError({ entity: "participant", id }))
    )
  const requireTeams = (t: StoreTx, ids: ReadonlyArray<string>) =>
    Effect.flatMap(t.routing.getTeams(ids), (found) => {
      const missing = ids.find((id) => !found.some((team) => team.id === id))
      return missing === undefined
        ? Effect.void
        : Effect.fail(new RoutingNotFoundError({ entity: "team", id: missing }))
    })

  const writeParticipant = (input: typeof ParticipantInput.Type) =>
    tx((t) =>
      Effect.gen(function* () {
        const now = new Date()
        yield* t.lock([`participant:${input.id}`])
        const [before] = yield* t.routing.getParticipants([input.id])
        const teams = input.teams ?? before?.teams ?? []
        yield* requireTeams(t, teams)
        const participant = yield* Effect.try({
          try: () =>
            new Participant({
              id: input.id,
              kind: input.kind ?? before?.kind ?? "agent",
              name: input.name ?? before?.name,
              role: input.role ?? before?.role ?? "agent",
              teams,
              skills: input.skills ?? before?.skills ?? [],
              capacity: input.capacity ?? before?.capacity ?? 5,
              availability: input.availability ?? before?.availability ?? "offline",
              calendar: input.calendar === null ? undefined : (input.calendar ?? before?.calendar),
              updatedAt: now
            }),
          catch: invalid("participant")
        })
        yield* t.routing.upsertParticipant(participant)
        // More room or a new member: the queues of every team involved may move.
        yield* armDrains(t, [...teams, ...(before?.teams ?? [])], now)
        return participant
      })
    )

  const admin: RoutingAdmin = {
    upsertTeam: (raw) =>
      Effect.flatMap(Schema.decodeUnknown(TeamInput)(raw).pipe(Effect.mapError(invalid("team"))), (input) =>
        tx((t) =>
          Effect.gen(function* () {
            const now = new Date()
            yield* t.lock([`team:${input.id}`])
            const [before] = yield* t.routing.getTeams([input.id])
            const overflow = input.overflow === null ? undefined : (input.overflow ?? before?.overflow)
            if (overflow?.toTeam === input.id)
              return yield* new InvalidInput({
                what: "team.overflow",
                message: "a team cannot overflow to itself"
              })
            if (overflow) yield* requireTeams(t, [overflow.toTeam])
            const team = new Team({
              id: input.id,
              name: input.name ?? before?.name ?? input.id,
              strategy: input.strategy ?? before?.strategy ?? "round_robin",
              overflow,
              updatedAt: now
            })
            yield* t.routing.upsertTeam(team)
            yield* armDrains(t, [team.id], now)
            return team
          })
        )
      ),
    upsertParticipant: (raw) =>
      Effect.flatMap(
        Schema.decodeUnknown(ParticipantInput)(raw).pipe(Effect.mapError(invalid("participant"))),
        writeParticipant
      ),
    setAvailability: (participantId, availability) =>
      Effect.flatMap(
        Schema.decodeUnknown(ParticipantInput)({ id: participantId, availability }).pipe(
          Effect.mapError(invalid("availability"))
        ),
        (input) =>
          Effect.flatMap(
            store.read((t) => requireParticipant(t, participantId)),
            () => writeParticipant(input)
          )
      ),
    participant: (id) => store.read((t) => requireParticipant(t, id)),
    participants: (filter = {}) => store.read((t) => t.routing.listParticipants(filter)),
    teams: () => store.read((t) => t.routing.listTeams()),
    queue: (teamId, limit = 100) =>
      store.read((t) => t.routing.queued(teamId, Math.min(1000, Math.max(1, limit)))),
    route: (conversationId) =>
      tx((t) =>
        Effect.gen(function* () {
          const [c] = yield* t.getConversations([conversationId as ConversationId])
          if (c === undefined) return yield* new NotFound({ entity: "conversation", id: conversationId })
          return yield* routeByRules(t, options, log, c.id, new Date())
        })
      )
  }

  const handoffs: HandoffApi = {
    accept: (handoffId, participantId) =>
      Effect.map(
        tx((t) => acceptHandoff(t, handoffId, participantId, new Date())),
        (r) => r.handoff
      ),
    decline: (handoffId, participantId, reason) =>
      tx((t) => declineHandoff(t, options, log, handoffId, participantId, reason, new Date())),
    get: (handoffId) =>
      store.read((t) =>
        Effect.flatMap(t.routing.getHandoff(handoffId), (h) =>
          h ? Effect.succeed(h) : Effect.fail(new RoutingNotFoundError({ entity: "handoff", id: handoffId }))
        )
      ),
    list: (conversationId) => store.read((t) => t.routing.listHandoffs(conversationId as ConversationId))
  }

  const callbacks: CallbackApi = {
    schedule: (conversationId, raw) =>
      Effect.gen(function* () {
        const request = yield* Schema.decodeUnknown(CallbackRequest)(raw).pipe(
          Effect.mapError(invalid("callback"))
        )
        const phone = yield* registry.normalize("voice", request.phone)
        return yield* tx((t) =>
          scheduleCallback(
            t,
            conversationId,
            { from: request.window.from, to: request.window.to, phone, note: request.note },
            new Date()
          )
        )
      }),
    start: (callbackId, participantId) =>
      tx((t) =>
        Effect.flatMap(requireParticipant(t, participantId), () =>
          moveCallback(t, callbackId, "in_progress", { by: participantId }, new Date())
        )
      ),
    complete: (callbackId) => tx((t) => moveCallback(t, callbackId, "completed", {}, new Date())),
    miss: (callbackId, reason) =>
      tx((t) => missCallback(t, registry, options, log, callbackId, reason, new Date())),
    get: (callbackId) =>
      store.read((t) =>
        Effect.flatMap(t.routing.getCallback(callbackId), (c) =>
          c
            ? Effect.succeed(c)
            : Effect.fail(new RoutingNotFoundError({ entity: "callback", id: callbackId }))
        )
      ),
    list: (conversationId) => store.read((t) => t.routing.listCallbacks(conversationId as ConversationId))
  }

  const overflow = (t: StoreTx, conversationId: ConversationId, fromTeam: string, now: Date) =>
    Effect.gen(function* () {
      const [team] = yield* t.routing.getTeams([fromTeam])
      if (team?.overflow === undefined) return
      const toTeam = team.overflow.toTeam
      yield* placeInTeam(
        t,
        options,
        log,
        {
          conversationId,
          teamId: toTeam,
          alsoLockTeams: [fromTeam],
          guard: (c, e) =>
            e?.queued === true &&
            e.teamId === fromTeam &&
            c.assignee._tag === "team" &&
            c.assignee.id === fromTeam,
          events: [{ _tag: "routing.overflowed", conversationId, fromTeam, toTeam }]
        },
        now
      )
    })

  const handleRouting = (d: Deadline, t: StoreTx, now: Date): Effect.Effect<void, StoreError> => {
    const p = d.payload
    switch (p.op) {
      case "route":
        return Effect.asVoid(
          routeByRules(t, options, log, p.conversationId as ConversationId, now, { onlyUnrouted: true })
        )
      case "place":
        return Effect.asVoid(
          placeInTeam(
            t,
            options,
            log,
            {
              conversationId: p.conversationId as ConversationId,
              teamId: String(p.teamId),
              guard: (c) => c.assignee._tag === "team" && c.assignee.id === p.teamId
            },
            now
          )
        )
      case "drain":
        return Effect.asVoid(drainTeam(t, options, log, String(p.teamId), now))
      case "overflow":
        return overflow(t, p.conversationId as ConversationId, String(p.teamId), now)
      case "sweep":
        return Effect.gen(function* () {
          yield* armDrains(t, yield* t.routing.queuedTeams(), now)
          yield* t.armDeadline({
            key: routingKey.sweep,
            kind: routingKind,
            dueAt: new Date(now.getTime() + options.sweepMs),
            payload: { op: "sweep" }
          })
        })
      default:
        return Effect.sync(() => log("warn", `routing: unknown deadline ${d.key}`))
    }
  }

  const handle = (d: Deadline, t: StoreTx): Effect.Effect<void, StoreError> => {
    const now = new Date()
    if (d.kind === handoffKind) return expireHandoff(t, options, log, String(d.payload.handoffId), now)
    if (d.kind === callbackKind) return fireCallback(t, registry, options, log, d.payload, now)
    return handleRouting(d, t, now)
  }

  return {
    handoff: (conversationId, raw) =>
      Effect.flatMap(
        Schema.decodeUnknown(HandoffRequest)(raw).pipe(Effect.mapError(invalid("handoff"))),
        (request) => tx((t) => requestHandoff(t, options, conversationId, request, new Date()))
      ),
    handoffs,
    callbacks,
    routing: admin,
    visibleTo: (participantId, ids) => store.read((t) => t.routing.visibleTo(participantId, ids)),
    onConversationsOpened: options.autoRoute ? armNewConversations : undefined,
    afterConversationChange: (t, before, after, now) =>
      Effect.gen(function* () {
        const left = before.assignee
        const freed =
          (left._tag === "agent" || left._tag === "bot") &&
          (!sameAssignee(left, after.assignee) ||
            (after.status === "resolved" && before.status !== "resolved"))
        if (freed) {
          const [p] = yield* t.routing.getParticipants([left.id])
          if (p) yield* armDrains(t, p.teams, now)
        }
        // Resolved while waiting: it leaves the queue now rather than at the next drain.
        if (after.status === "resolved" && before.status !== "resolved") {
          const [entry] = yield* t.routing.getRouting([after.id])
          if (entry?.queued) {
            yield* t.routing.putRouting([{ ...entry, queued: false }])
            yield* t.cancelDeadline(routingKey.overflow(after.id))
          }
        }
        // Assigned to a team by hand: the team's strategy places it (or it waits in the queue).
        const to = after.assignee
        if (to._tag === "team" && !sameAssignee(before.assignee, to)) {
          const [team] = yield* t.routing.getTeams([to.id])
          if (team)
            yield* t.armDeadline({
              key: routingKey.place(after.id),
              kind: routingKind,
              dueAt: now,
              payload: { op: "place", conversationId: after.id, teamId: to.id }
            })
        }
      }),
    runWorkers: Effect.gen(function* () {
      yield* store.transaction((t) =>
        t.armDeadline({
          key: routingKey.sweep,
          kind: routingKind,
          dueAt: new Date(Date.now() + options.sweepMs),
          payload: { op: "sweep" }
        })
      )
      // One deadline per transaction: routing takes locks in a fixed order within one piece of
      // work, and a batch would hold one piece's locks while taking the next one's.
      yield* store.runDeadlines([routingKind, handoffKind, callbackKind], handle, {
        batchSize: 1,
        onError: (error, deadline) => log("warn", `deadline ${deadline?.key ?? "(claim)"} failed`, error)
      })
    })
  }
}

/** The routing part of the hub's public API. */
export type HubRouting = Pick<Routing, "handoff" | "handoffs" | "callbacks" | "routing">
