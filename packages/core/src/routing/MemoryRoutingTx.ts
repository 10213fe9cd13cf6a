import { Effect } from "effect"
import type { Conversation } from "../domain/Conversation.js"
import type { ConversationId } from "../domain/Ids.js"
import type { Message } from "../domain/Message.js"
import type { Callback } from "./Callback.js"
import type { Handoff } from "./Handoff.js"
import type { Participant, Team } from "./Participant.js"
import { priorityRank, type RoutingEntry, type RoutingTx } from "./RoutingStore.js"

/** The routing tables of the in-memory store. */
export interface MemoryRoutingState {
  readonly teams: Map<string, Team>
  readonly roundRobin: Map<string, string>
  readonly participants: Map<string, Participant>
  readonly routing: Map<string, RoutingEntry>
  readonly handoffs: Map<string, Handoff>
  readonly callbacks: Map<string, Callback>
}

/** Empty routing tables. */
export const makeMemoryRoutingState = (): MemoryRoutingState => ({
  teams: new Map(),
  roundRobin: new Map(),
  participants: new Map(),
  routing: new Map(),
  handoffs: new Map(),
  callbacks: new Map()
})

/** What the routing operations need from the memory store around them. */
export interface MemoryRoutingDeps {
  readonly state: MemoryRoutingState
  /** Sets a map entry so that a rolled-back transaction restores the previous one. */
  readonly setIn: <K, V>(map: Map<K, V>, key: K, value: V) => void
  readonly conversations: () => Iterable<Conversation>
  readonly conversation: (id: string) => Conversation | undefined
  readonly messages: () => Iterable<Message>
}

const byId = <A extends { readonly id: string }>(a: A, b: A) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

/** Whether a participant may see a conversation: the rule of {@link RoutingTx.visibleTo}. */
export const canSee = (
  viewer: Participant | undefined,
  conversation: Conversation,
  entry: RoutingEntry | undefined
): boolean => {
  if (viewer === undefined) return false
  if (viewer.role === "admin") return true
  const a = conversation.assignee
  if ((a._tag === "agent" || a._tag === "bot") && a.id === viewer.id) return true
  if (a._tag === "team" && viewer.teams.includes(a.id)) return true
  return entry !== undefined && viewer.teams.includes(entry.teamId)
}

/** The routing operations on the memory store's tables (the reference for the SQL ones). */
export const makeMemoryRoutingTx = (deps: MemoryRoutingDeps): RoutingTx => {
  const { state, setIn } = deps
  return {
    upsertTeam: (team) => Effect.sync(() => setIn(state.teams, team.id, team)),
    getTeams: (ids) =>
      Effect.sync(() => [...new Set(ids)].flatMap((id) => state.teams.get(id) ?? []).sort(byId)),
    listTeams: () => Effect.sync(() => [...state.teams.values()].sort(byId)),
    roundRobinLast: (teamId) => Effect.sync(() => state.roundRobin.get(teamId)),
    teamWithPosition: (teamId) =>
      Effect.sync(() => {
        const team = state.teams.get(teamId)
        return team === undefined ? undefined : { team, roundRobinLast: state.roundRobin.get(teamId) }
      }),
    setRoundRobinLast: (teamId, participantId) =>
      Effect.sync(() => setIn(state.roundRobin, teamId, participantId)),
    upsertParticipant: (p) => Effect.sync(() => setIn(state.participants, p.id, p)),
    getParticipants: (ids) =>
      Effect.sync(() => [...new Set(ids)].flatMap((id) => state.participants.get(id) ?? []).sort(byId)),
    listParticipants: (filter) =>
      Effect.sync(() =>
        [...state.participants.values()]
          .filter((p) => filter.team === undefined || p.teams.includes(filter.team))
          .sort(byId)
      ),
    loads: (ids) =>
      Effect.sync(() => {
        const wanted = new Set(ids)
        const loads = new Map<string, number>(ids.map((id) => [id, 0]))
        for (const c of deps.conversations()) {
          const a = c.assignee
          if ((a._tag === "agent" || a._tag === "bot") && wanted.has(a.id) && c.status !== "resolved")
            loads.set(a.id, (loads.get(a.id) ?? 0) + 1)
        }
        return loads
      }),
    getRouting: (ids) => Effect.sync(() => [...new Set(ids)].flatMap((id) => state.routing.get(id) ?? [])),
    putRouting: (entries) =>
      Effect.sync(() => {
        for (const e of entries) setIn(state.routing, e.conversationId as string, e)
      }),
    queued: (teamId, limit) =>
      Effect.sync(() =>
        [...state.routing.values()]
          .filter((e) => e.queued && e.teamId === teamId)
          .sort(
            (a, b) =>
              priorityRank[a.priority] - priorityRank[b.priority] ||
              a.queuedAt.getTime() - b.queuedAt.getTime() ||
              (a.conversationId < b.conversationId ? -1 : 1)
          )
          .slice(0, limit)
      ),
    queuedTeams: () =>
      Effect.sync(() => [
        ...new Set([...state.routing.values()].filter((e) => e.queued).map((e) => e.teamId))
      ]),
    insertHandoff: (h) => Effect.sync(() => setIn(state.handoffs, h.id, h)),
    getHandoff: (id) => Effect.sync(() => state.handoffs.get(id)),
    updateHandoff: (h, from) =>
      Effect.sync(() => {
        if (state.handoffs.get(h.id)?.state !== from) return false
        setIn(state.handoffs, h.id, h)
        return true
      }),
    pendingHandoff: (conversationId) =>
      Effect.sync(() =>
        [...state.handoffs.values()].find(
          (h) => h.conversationId === conversationId && h.state === "requested"
        )
      ),
    listHandoffs: (conversationId) =>
      Effect.sync(() =>
        [...state.handoffs.values()]
          .filter((h) => h.conversationId === conversationId)
          .sort((a, b) => a.requestedAt.getTime() - b.requestedAt.getTime() || (a.id < b.id ? -1 : 1))
      ),
    insertCallback: (c) => Effect.sync(() => setIn(state.callbacks, c.id, c)),
    getCallback: (id) => Effect.sync(() => state.callbacks.get(id)),
    updateCallback: (c, from) =>
      Effect.sync(() => {
        if (state.callbacks.get(c.id)?.state !== from) return false
        setIn(state.callbacks, c.id, c)
        return true
      }),
    listCallbacks: (conversationId) =>
      Effect.sync(() =>
        [...state.callbacks.values()]
          .filter((c) => c.conversationId === conversationId)
          .sort((a, b) => a.window.from.getTime() - b.window.from.getTime() || (a.id < b.id ? -1 : 1))
      ),
    lastMessages: (conversationId, limit) =>
      Effect.sync(() =>
        [...deps.messages()]
          .filter((m) => m.conversationId === conversationId)
          .sort((a, b) => a.sentAt.getTime() - b.sentAt.getTime() || (a.id < b.id ? -1 : 1))
          .slice(-limit)
      ),
    visibleTo: (viewerId, ids) =>
      Effect.sync(() => {
        const viewer = state.participants.get(viewerId)
        const visible: ConversationId[] = []
        for (const id of new Set(ids)) {
          const c = deps.conversation(id)
          if (c && canSee(viewer, c, state.routing.get(id))) visible.push(c.id)
        }
        return visible
      })
  }
}
