import type { Effect } from "effect"
import type { Priority } from "../domain/Conversation.js"
import type { StoreError } from "../domain/Errors.js"
import type { ConversationId } from "../domain/Ids.js"
import type { Message } from "../domain/Message.js"
import type { Callback, CallbackState } from "./Callback.js"
import type { Handoff, HandoffState } from "./Handoff.js"
import type { Participant, Team } from "./Participant.js"

/**
 * Where a conversation stands in routing: the team it belongs to (which decides who may see it)
 * and, while `queued`, its place in that team's queue.
 */
export interface RoutingEntry {
  readonly conversationId: ConversationId
  readonly teamId: string
  readonly queued: boolean
  readonly priority: Priority
  /** Skills the routing rule asked for. */
  readonly skills: ReadonlyArray<string>
  /** When it entered the current team's queue; queue order after priority. */
  readonly queuedAt: Date
}

/**
 * The routing operations of a store transaction (`tx.routing`): participants, teams, queues,
 * handoffs and callbacks, written in the same transaction as the conversation changes they
 * go with.
 */
export interface RoutingTx {
  /** Inserts or replaces a team's settings; its round robin position is kept. */
  readonly upsertTeam: (team: Team) => Effect.Effect<void, StoreError>
  readonly getTeams: (ids: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<Team>, StoreError>
  readonly listTeams: () => Effect.Effect<ReadonlyArray<Team>, StoreError>
  /** The member round robin picked last in a team. */
  readonly roundRobinLast: (teamId: string) => Effect.Effect<string | undefined, StoreError>
  /**
   * A team with its round robin position, in one read (what placing a conversation needs under
   * the team's lock); undefined when there is no such team.
   */
  readonly teamWithPosition: (
    teamId: string
  ) => Effect.Effect<
    { readonly team: Team; readonly roundRobinLast: string | undefined } | undefined,
    StoreError
  >
  readonly setRoundRobinLast: (teamId: string, participantId: string) => Effect.Effect<void, StoreError>

  readonly upsertParticipant: (participant: Participant) => Effect.Effect<void, StoreError>
  readonly getParticipants: (
    ids: ReadonlyArray<string>
  ) => Effect.Effect<ReadonlyArray<Participant>, StoreError>
  /** Every participant, or the members of one team; ordered by id. */
  readonly listParticipants: (filter: {
    readonly team?: string | undefined
  }) => Effect.Effect<ReadonlyArray<Participant>, StoreError>
  /**
   * Open (not resolved) conversations assigned to each participant: what capacity is checked
   * against. Counted from the conversations themselves, so it is never out of step with them.
   */
  readonly loads: (ids: ReadonlyArray<string>) => Effect.Effect<ReadonlyMap<string, number>, StoreError>

  readonly getRouting: (
    ids: ReadonlyArray<ConversationId>
  ) => Effect.Effect<ReadonlyArray<RoutingEntry>, StoreError>
  /** Inserts or replaces entries by conversation id. */
  readonly putRouting: (entries: ReadonlyArray<RoutingEntry>) => Effect.Effect<void, StoreError>
  /** A team's queue: highest priority first, then longest waiting, then id. */
  readonly queued: (teamId: string, limit: number) => Effect.Effect<ReadonlyArray<RoutingEntry>, StoreError>
  /** Teams with at least one conversation waiting. */
  readonly queuedTeams: () => Effect.Effect<ReadonlyArray<string>, StoreError>

  readonly insertHandoff: (handoff: Handoff) => Effect.Effect<void, StoreError>
  readonly getHandoff: (id: string) => Effect.Effect<Handoff | undefined, StoreError>
  /**
   * Writes `handoff` only if the stored one is still in state `from`; false when it was not
   * (someone else decided first). This conditional write is what makes exactly one accept win.
   */
  readonly updateHandoff: (handoff: Handoff, from: HandoffState) => Effect.Effect<boolean, StoreError>
  /** The conversation's handoff waiting for acceptance, if any. */
  readonly pendingHandoff: (conversationId: ConversationId) => Effect.Effect<Handoff | undefined, StoreError>
  /** A conversation's handoffs, oldest first. */
  readonly listHandoffs: (conversationId: ConversationId) => Effect.Effect<ReadonlyArray<Handoff>, StoreError>

  readonly insertCallback: (callback: Callback) => Effect.Effect<void, StoreError>
  readonly getCallback: (id: string) => Effect.Effect<Callback | undefined, StoreError>
  /** Writes `callback` only if the stored one is still in state `from`; false otherwise. */
  readonly updateCallback: (callback: Callback, from: CallbackState) => Effect.Effect<boolean, StoreError>
  /** A conversation's callbacks, by window start. */
  readonly listCallbacks: (
    conversationId: ConversationId
  ) => Effect.Effect<ReadonlyArray<Callback>, StoreError>

  /** The last `limit` messages of a conversation across channels, oldest first. */
  readonly lastMessages: (
    conversationId: ConversationId,
    limit: number
  ) => Effect.Effect<ReadonlyArray<Message>, StoreError>
  /**
   * The conversations among `ids` that participant `viewerId` may see: all for admins; for
   * others, those assigned to them and those of (or assigned to) one of their teams. An
   * unknown participant sees nothing.
   */
  readonly visibleTo: (
    viewerId: string,
    ids: ReadonlyArray<ConversationId>
  ) => Effect.Effect<ReadonlyArray<ConversationId>, StoreError>
}

/** Queue order of priorities (lower first). */
export const priorityRank: Readonly<Record<Priority, number>> = { urgent: 0, high: 1, normal: 2, low: 3 }
