import type { Effect } from "effect"
import type { PlaceResult } from "../hub/routing/placement.js"
import type { Routing } from "../hub/routing/RoutingHub.js"
import type { Callback, CallbackRequest } from "../routing/Callback.js"
import type { Handoff, HandoffRequest } from "../routing/Handoff.js"
import type { Availability, Participant, ParticipantInput, Team, TeamInput } from "../routing/Participant.js"
import type { RoutingEntry } from "../routing/RoutingStore.js"

/**
 * Routing, handoffs and callbacks with plain Promises. Failures reject with dialogi's tagged
 * errors: `HandoffNotPending` for the loser of two accepts, `AtCapacity`, `NotPermitted`,
 * `RoutingNotFound`, `CallbackStateConflict`, `InvalidInput`.
 */
export interface DialogiRouting {
  /**
   * Asks someone to take a conversation over: `{ to: { _tag: "team", id: "billing" }, reason,
   * note }`. The note and the last messages across channels travel with it; unaccepted, it
   * expires after the acceptance window and the conversation is routed again.
   */
  readonly handoff: (conversationId: string, request: HandoffRequest) => Promise<Handoff>
  readonly handoffs: {
    readonly accept: (handoffId: string, participantId: string) => Promise<Handoff>
    readonly decline: (handoffId: string, participantId: string, reason?: string) => Promise<Handoff>
    readonly get: (handoffId: string) => Promise<Handoff>
    readonly list: (conversationId: string) => Promise<ReadonlyArray<Handoff>>
  }
  readonly callbacks: {
    /** `{ window: { from, to }, phone, note }`: due at `from`, missed (and a new window offered) after `to`. */
    readonly schedule: (conversationId: string, request: CallbackRequest) => Promise<Callback>
    readonly start: (callbackId: string, participantId: string) => Promise<Callback>
    readonly complete: (callbackId: string) => Promise<Callback>
    readonly miss: (callbackId: string, reason: string) => Promise<Callback>
    readonly get: (callbackId: string) => Promise<Callback>
    readonly list: (conversationId: string) => Promise<ReadonlyArray<Callback>>
  }
  readonly routing: {
    readonly upsertTeam: (input: TeamInput) => Promise<Team>
    readonly upsertParticipant: (input: ParticipantInput) => Promise<Participant>
    readonly setAvailability: (participantId: string, availability: Availability) => Promise<Participant>
    readonly participant: (id: string) => Promise<Participant>
    readonly participants: (filter?: {
      readonly team?: string | undefined
    }) => Promise<ReadonlyArray<Participant>>
    readonly teams: () => Promise<ReadonlyArray<Team>>
    readonly queue: (teamId: string, limit?: number) => Promise<ReadonlyArray<RoutingEntry>>
    readonly route: (conversationId: string) => Promise<PlaceResult>
  }
}

/** The Promise form of the hub's routing part. */
export const routingFacade = (
  hub: Pick<Routing, "handoff" | "handoffs" | "callbacks" | "routing">,
  run: <A, E>(effect: Effect.Effect<A, E>) => Promise<A>
): DialogiRouting => ({
  handoff: (conversationId, request) => run(hub.handoff(conversationId, request)),
  handoffs: {
    accept: (handoffId, participantId) => run(hub.handoffs.accept(handoffId, participantId)),
    decline: (handoffId, participantId, reason) =>
      run(hub.handoffs.decline(handoffId, participantId, reason)),
    get: (handoffId) => run(hub.handoffs.get(handoffId)),
    list: (conversationId) => run(hub.handoffs.list(conversationId))
  },
  callbacks: {
    schedule: (conversationId, request) => run(hub.callbacks.schedule(conversationId, request)),
    start: (callbackId, participantId) => run(hub.callbacks.start(callbackId, participantId)),
    complete: (callbackId) => run(hub.callbacks.complete(callbackId)),
    miss: (callbackId, reason) => run(hub.callbacks.miss(callbackId, reason)),
    get: (callbackId) => run(hub.callbacks.get(callbackId)),
    list: (conversationId) => run(hub.callbacks.list(conversationId))
  },
  routing: {
    upsertTeam: (input) => run(hub.routing.upsertTeam(input)),
    upsertParticipant: (input) => run(hub.routing.upsertParticipant(input)),
    setAvailability: (id, availability) => run(hub.routing.setAvailability(id, availability)),
    participant: (id) => run(hub.routing.participant(id)),
    participants: (filter) => run(hub.routing.participants(filter)),
    teams: () => run(hub.routing.teams()),
    queue: (teamId, limit) => run(hub.routing.queue(teamId, limit)),
    route: (conversationId) => run(hub.routing.route(conversationId))
  }
})
