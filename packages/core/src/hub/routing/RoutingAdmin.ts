import { Effect, Schema } from "effect"
import { InvalidInput, NotFound, type StoreError } from "../../domain/Errors.js"
import type { ConversationId } from "../../domain/Ids.js"
import {
  type Availability,
  Participant,
  ParticipantInput,
  Team,
  TeamInput
} from "../../routing/Participant.js"
import { OverflowLoop, RoutingNotFound } from "../../routing/RoutingErrors.js"
import type { RoutingEntry } from "../../routing/RoutingStore.js"
import type { StoreTx } from "../../store/Store.js"
import { armDrains, type PlaceResult } from "./placement.js"
import { invalidInput, type RoutingContext } from "./RoutingContext.js"
import { routeByRules } from "./routeByRules.js"

/** Admin and inspection of teams, participants and queues. */
export interface RoutingAdmin {
  /**
   * Creates or updates a team; omitted fields keep their value (defaults on create). An
   * overflow that would lead back to the team through other teams' overflows fails with
   * OverflowLoop and changes nothing.
   */
  readonly upsertTeam: (
    input: TeamInput
  ) => Effect.Effect<Team, InvalidInput | RoutingNotFound | OverflowLoop | StoreError>
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

/** The participant with this id, or RoutingNotFound. */
export const requireParticipant = (t: StoreTx, id: string) =>
  Effect.flatMap(t.routing.getParticipants([id]), ([p]) =>
    p ? Effect.succeed(p) : Effect.fail(new RoutingNotFound({ entity: "participant", id }))
  )

const requireTeams = (t: StoreTx, ids: ReadonlyArray<string>) =>
  Effect.flatMap(t.routing.getTeams(ids), (found) => {
    const missing = ids.find((id) => !found.some((team) => team.id === id))
    return missing === undefined
      ? Effect.void
      : Effect.fail(new RoutingNotFound({ entity: "team", id: missing }))
  })

const overflowConfigKey = "routing:overflow-config"

/** Follows overflows from `toTeam`; fails when they lead back to `teamId`. */
const refuseLoop = (t: StoreTx, teamId: string, toTeam: string) =>
  Effect.gen(function* () {
    const path = [teamId, toTeam]
    let next: string | undefined = toTeam
    while (next !== undefined && next !== teamId) {
      const teams: ReadonlyArray<Team> = yield* t.routing.getTeams([next])
      next = teams[0]?.overflow?.toTeam
      if (next === undefined) return
      // A loop among other teams (stored before loops were refused) is not this team's doing.
      if (path.includes(next) && next !== teamId) return
      path.push(next)
    }
    if (next === teamId) return yield* new OverflowLoop({ teams: path })
  })

/** Creating and updating teams and participants; every change that may free room drains the queues it touches. */
export const makeRoutingAdmin = (ctx: RoutingContext): RoutingAdmin => {
  const { store, options, log } = ctx
  const tx = ctx.transaction
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
          catch: invalidInput("participant")
        })
        yield* t.routing.upsertParticipant(participant)
        // More room or a new member: the queues of every team involved may move.
        yield* armDrains(t, [...teams, ...(before?.teams ?? [])], now)
        return participant
      })
    )

  return {
    upsertTeam: (raw) =>
      Effect.flatMap(
        Schema.decodeUnknown(TeamInput)(raw).pipe(Effect.mapError(invalidInput("team"))),
        (input) =>
          tx((t) =>
            Effect.gen(function* () {
              const now = new Date()
              // Two teams made to overflow into each other at once must not both pass the loop
              // check: overflow changes take one key first (nothing else takes it, so it adds no
              // lock-order cycle).
              yield* t.lock(input.overflow ? [overflowConfigKey, `team:${input.id}`] : [`team:${input.id}`])
              const [before] = yield* t.routing.getTeams([input.id])
              const overflow = input.overflow === null ? undefined : (input.overflow ?? before?.overflow)
              if (overflow?.toTeam === input.id)
                return yield* new InvalidInput({
                  what: "team.overflow",
                  message: "a team cannot overflow to itself"
                })
              if (overflow) {
                yield* requireTeams(t, [overflow.toTeam])
                yield* refuseLoop(t, input.id, overflow.toTeam)
              }
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
        Schema.decodeUnknown(ParticipantInput)(raw).pipe(Effect.mapError(invalidInput("participant"))),
        writeParticipant
      ),
    setAvailability: (participantId, availability) =>
      Effect.flatMap(
        Schema.decodeUnknown(ParticipantInput)({ id: participantId, availability }).pipe(
          Effect.mapError(invalidInput("availability"))
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
}
