import { Effect } from "effect"
import { type Assignee, Conversation } from "../../domain/Conversation.js"
import type { StoreError } from "../../domain/Errors.js"
import type { EventBody } from "../../domain/Event.js"
import type { ConversationId } from "../../domain/Ids.js"
import type { Participant, Team } from "../../routing/Participant.js"
import { planQueue } from "../../routing/QueuePlan.js"
import type { RoutingEntry } from "../../routing/RoutingStore.js"
import {
  isEligible,
  type MemberSnapshot,
  pickMember,
  type RoutingRequest,
  roundRobin,
  type TeamSnapshot
} from "../../routing/RoutingStrategy.js"
import { isOpen } from "../../sla/BusinessCalendar.js"
import type { StoreTx } from "../../store/Store.js"
import type { ResolvedRoutingOptions } from "./RoutingOptions.js"

// Placing conversations on team members. Lock order, everywhere in routing, so that two
// instances never wait on each other in a circle: handoff, then teams, then conversations (then
// their contacts, see lockConversations), then participants. Each level is locked in one call
// (keys sorted), and loads are counted only after the participant locks are held, so a count is
// never stale when capacity is checked.

/** The deadline kind of routing work (route a new conversation, drain a queue, overflow, sweep). */
export const routingKind = "routing"

/** Lock keys, shared with the hub's own `conversation:<id>` lock and ingest's `contact:<id>` lock. */
export const lockKey = {
  handoff: (id: string) => `handoff:${id}`,
  team: (id: string) => `team:${id}`,
  conversation: (id: string) => `conversation:${id}`,
  contact: (id: string) => `contact:${id}`,
  participant: (id: string) => `participant:${id}`
}

/**
 * Locks conversations for a whole-row write and reads them under the lock. Besides each
 * conversation's own key this takes its contact's key, which ingest holds from its read to its
 * commit (findForIngest): so a customer message arriving meanwhile is never written over an
 * assignment, nor an assignment over the message. Read again until the contacts are stable (a
 * merge may move a conversation between the first read and the lock).
 */
export const lockConversations = (
  tx: StoreTx,
  ids: ReadonlyArray<ConversationId>,
  knownContacts: ReadonlyArray<string> = []
): Effect.Effect<ReadonlyArray<Conversation>, StoreError> =>
  Effect.gen(function* () {
    if (ids.length === 0) return []
    yield* tx.lock(ids.map(lockKey.conversation))
    const locked = new Set<string>()
    // Contacts the caller read the conversations with (unlocked) are locked before the first
    // read: usually still right, which saves a read; a merge meanwhile is caught below.
    if (knownContacts.length > 0) {
      const keys = [...new Set(knownContacts.map(lockKey.contact))]
      yield* tx.lock(keys)
      for (const k of keys) locked.add(k)
    }
    for (;;) {
      const rows = yield* tx.getConversations(ids)
      // Only contacts not locked yet: a merge that moved a conversation meanwhile shows up as a
      // new contact key, and the row is read again once that contact is held too.
      const keys = [...new Set(rows.map((c) => lockKey.contact(c.contactId)))].filter((k) => !locked.has(k))
      if (keys.length === 0) return rows
      yield* tx.lock(keys)
      for (const k of keys) locked.add(k)
    }
  })

/** Deadline keys of routing work; a key is armed at most once, so repeated triggers coalesce. */
export const routingKey = {
  route: (conversationId: string) => `routing:route:${conversationId}`,
  place: (conversationId: string) => `routing:place:${conversationId}`,
  drain: (teamId: string) => `routing:drain:${teamId}`,
  overflow: (conversationId: string) => `routing:overflow:${conversationId}`,
  sweep: "routing:sweep"
}

/** Online and inside working hours. */
export const isAvailable = (p: Participant, now: Date): boolean =>
  p.availability === "online" && (p.calendar === undefined || isOpen(now, p.calendar))

const memberSnapshot = (m: Participant, loads: ReadonlyMap<string, number>, now: Date): MemberSnapshot => ({
  id: m.id,
  kind: m.kind,
  skills: m.skills,
  capacity: m.capacity,
  load: loads.get(m.id) ?? 0,
  available: isAvailable(m, now)
})

/**
 * Locks a team's members (after the team and conversation locks), and `others` with them in
 * the same call, and reads their loads: the team as a snapshot, `others` beside it.
 */
const lockedSnapshot = (
  tx: StoreTx,
  team: Team,
  lastAssigned: string | undefined,
  members: ReadonlyArray<Participant>,
  now: Date,
  others: ReadonlyArray<Participant> = []
) =>
  Effect.gen(function* () {
    const everyone = [...members, ...others]
    yield* tx.lock(everyone.map((m) => lockKey.participant(m.id)))
    const loads = yield* tx.routing.loads(everyone.map((m) => m.id))
    const snapshot: TeamSnapshot = {
      teamId: team.id,
      lastAssigned,
      members: members.map((m) => memberSnapshot(m, loads, now))
    }
    return { snapshot, others: others.map((m) => memberSnapshot(m, loads, now)) }
  })

const strategyOf = (options: ResolvedRoutingOptions, team: Team, log: LogFn) => {
  const strategy = options.strategies[team.strategy]
  if (strategy === undefined) log("warn", `routing: team ${team.id} names unknown strategy ${team.strategy}`)
  return strategy ?? roundRobin
}

/** Where log lines go. */
export type LogFn = (level: "debug" | "info" | "warn" | "error", message: string, data?: unknown) => void

/** Whether two assignees are the same owner. */
export const sameAssignee = (a: Assignee, b: Assignee): boolean =>
  a._tag === b._tag && (a._tag === "none" || (b._tag !== "none" && a.id === b.id))

/** The request routing makes for a conversation. */
export const requestFor = (
  conversation: Conversation,
  skills: ReadonlyArray<string>,
  exclude: ReadonlyArray<string> = []
): RoutingRequest => ({
  conversationId: conversation.id,
  priority: conversation.priority,
  channel: conversation.lastInboundChannel,
  tags: conversation.tags,
  skills,
  exclude
})

/** What one placement changes: conversation row, routing entry and events. */
interface Placement {
  readonly conversation: Conversation
  readonly entry: RoutingEntry
  readonly events: ReadonlyArray<EventBody>
  readonly overflowArm?:
    | { readonly teamId: string; readonly dueAt: Date; readonly visited: ReadonlyArray<string> }
    | undefined
  readonly overflowCancel: boolean
}

const placementOf = (
  conversation: Conversation,
  team: Team,
  before: RoutingEntry | undefined,
  member: { readonly id: string; readonly kind: "agent" | "bot" } | undefined,
  skills: ReadonlyArray<string>,
  now: Date,
  visited: ReadonlyArray<string> = [team.id]
): Placement => {
  const assignee: Assignee = member ? { _tag: member.kind, id: member.id } : { _tag: "team", id: team.id }
  const alreadyQueuedHere = before?.queued === true && before.teamId === team.id
  const events: EventBody[] = []
  if (!sameAssignee(conversation.assignee, assignee))
    events.push({
      _tag: "conversation.assigned",
      conversationId: conversation.id,
      from: conversation.assignee,
      to: assignee
    })
  if (!member && !alreadyQueuedHere)
    events.push({ _tag: "routing.queued", conversationId: conversation.id, teamId: team.id })
  return {
    conversation: sameAssignee(conversation.assignee, assignee)
      ? conversation
      : new Conversation({ ...conversation, assignee, updatedAt: now }, true),
    entry: {
      conversationId: conversation.id,
      teamId: team.id,
      queued: member === undefined,
      priority: conversation.priority,
      skills,
      // A conversation already waiting here keeps its place in the queue.
      queuedAt: alreadyQueuedHere ? before.queuedAt : now
    },
    events,
    overflowArm:
      !member && !alreadyQueuedHere && team.overflow
        ? { teamId: team.id, dueAt: new Date(now.getTime() + team.overflow.afterMs), visited }
        : undefined,
    overflowCancel: member !== undefined && before?.queued === true
  }
}

/** Writes placements: one statement per kind of write, whatever their number. */
const writePlacements = (tx: StoreTx, placements: ReadonlyArray<Placement>, now: Date) =>
  Effect.gen(function* () {
    if (placements.length === 0) return
    const changed = placements.filter((p) => p.events.some((e) => e._tag === "conversation.assigned"))
    yield* tx.updateConversations(changed.map((p) => p.conversation))
    yield* tx.routing.putRouting(placements.map((p) => p.entry))
    const arms = placements.flatMap((p) =>
      p.overflowArm
        ? [
            {
              key: routingKey.overflow(p.conversation.id),
              kind: routingKind,
              dueAt: p.overflowArm.dueAt,
              payload: {
                op: "overflow",
                conversationId: p.conversation.id,
                teamId: p.overflowArm.teamId,
                visited: p.overflowArm.visited
              }
            }
          ]
        : []
    )
    yield* tx.armDeadlines(arms)
    for (const p of placements)
      if (p.overflowCancel) yield* tx.cancelDeadline(routingKey.overflow(p.conversation.id))
    const events = placements.flatMap((p) => p.events)
    if (events.length > 0) yield* tx.appendEvents(events, now)
  })

/** Options of {@link placeInTeam}. */
export interface PlaceOptions {
  readonly conversationId: ConversationId
  readonly teamId: string
  /** Skills the member must have (`skills` strategy); default: those of the current entry. */
  readonly skills?: ReadonlyArray<string> | undefined
  /** Members not to pick. */
  readonly exclude?: ReadonlyArray<string> | undefined
  /** Other teams to lock with this one (an overflow's source team). */
  readonly alsoLockTeams?: ReadonlyArray<string> | undefined
  /** The conversation's contact as last read without locks (saves a read when still right). */
  readonly contactId?: string | undefined
  /** Checked under the locks: false leaves everything as it is. */
  readonly guard?: ((conversation: Conversation, entry: RoutingEntry | undefined) => boolean) | undefined
  /** Events to append before the placement's own, when it happens. */
  readonly events?: ReadonlyArray<EventBody> | undefined
  /**
   * The teams the conversation has waited in since it was queued, this one last (an overflow
   * chain); its next overflow stops before any of them. Default: this team alone.
   */
  readonly visited?: ReadonlyArray<string> | undefined
  /**
   * Keep the current agent or bot owner when they are available and have room with this
   * conversation counted (a customer reopening a resolved one); otherwise place it without them.
   */
  readonly preferOwner?: boolean | undefined
}

/** The outcome of one placement. */
export type PlaceResult =
  | { readonly _tag: "assigned"; readonly participantId: string }
  | { readonly _tag: "kept"; readonly participantId: string }
  | { readonly _tag: "queued"; readonly teamId: string }
  | { readonly _tag: "skipped"; readonly reason: string }

/**
 * Places one conversation in a team: on a member the team's strategy picks (available, below
 * capacity), else in the team's queue, where it keeps its place and may overflow later. The
 * caller must not hold the conversation's lock yet (teams are locked first).
 */
export const placeInTeam = (
  tx: StoreTx,
  options: ResolvedRoutingOptions,
  log: LogFn,
  place: PlaceOptions,
  now: Date
): Effect.Effect<PlaceResult, StoreError> =>
  Effect.gen(function* () {
    yield* tx.lock([place.teamId, ...(place.alsoLockTeams ?? [])].map(lockKey.team))
    // Read under the team lock: its round robin position moves only under that lock.
    const state = yield* tx.routing.teamWithPosition(place.teamId)
    const team = state?.team
    if (state === undefined || team === undefined) {
      log("warn", `routing: no team ${place.teamId}; conversation ${place.conversationId} left as it is`)
      return { _tag: "skipped", reason: `no team ${place.teamId}` } as const
    }
    const [conversation] = yield* lockConversations(
      tx,
      [place.conversationId],
      place.contactId === undefined ? [] : [place.contactId]
    )
    if (conversation === undefined || conversation.status === "resolved")
      return { _tag: "skipped", reason: "conversation resolved or gone" } as const
    const [before] = yield* tx.routing.getRouting([conversation.id])
    if (place.guard && !place.guard(conversation, before))
      return { _tag: "skipped", reason: "guard" } as const
    const members = yield* tx.routing.listParticipants({ team: team.id })
    const owner = conversation.assignee
    const ownerId = owner._tag === "agent" || owner._tag === "bot" ? owner.id : undefined
    // An owner outside the team (a handoff to one agent, say) is locked and counted too.
    const outside =
      place.preferOwner && ownerId !== undefined && !members.some((m) => m.id === ownerId)
        ? yield* tx.routing.getParticipants([ownerId])
        : []
    const locked = yield* lockedSnapshot(tx, team, state.roundRobinLast, members, now, outside)
    // Its current owner's load already counts this conversation: keeping it adds nothing.
    const withoutThis = (m: MemberSnapshot) => (m.id === ownerId ? { ...m, load: m.load - 1 } : m)
    const snapshot: TeamSnapshot = { ...locked.snapshot, members: locked.snapshot.members.map(withoutThis) }
    const skills = place.skills ?? before?.skills ?? []
    const request = requestFor(conversation, skills, place.exclude)
    if (place.preferOwner && ownerId !== undefined) {
      const current = [...snapshot.members, ...locked.others.map(withoutThis)].find((m) => m.id === ownerId)
      if (current !== undefined && isEligible(current, request)) {
        yield* tx.appendEvents(
          [
            ...(place.events ?? []),
            { _tag: "routing.returned", conversationId: conversation.id, participantId: ownerId }
          ],
          now
        )
        return { _tag: "kept", participantId: ownerId } as const
      }
    }
    const member = pickMember(
      strategyOf(options, team, log),
      snapshot,
      // An owner who could not keep it is not picked again either.
      place.preferOwner && ownerId !== undefined
        ? { ...request, exclude: [...(request.exclude ?? []), ownerId] }
        : request
    )
    if (place.events && place.events.length > 0) yield* tx.appendEvents(place.events, now)
    yield* writePlacements(
      tx,
      [placementOf(conversation, team, before, member, skills, now, place.visited ?? [team.id])],
      now
    )
    if (member) {
      yield* tx.routing.setRoundRobinLast(team.id, member.id)
      return { _tag: "assigned", participantId: member.id } as const
    }
    return { _tag: "queued", teamId: team.id } as const
  })

/**
 * Gives a team's waiting conversations to members with room, in queue order (priority, then
 * waiting time). Conversations that were resolved or assigned elsewhere meanwhile leave the
 * queue; nothing else does.
 */
export const drainTeam = (
  tx: StoreTx,
  options: ResolvedRoutingOptions,
  log: LogFn,
  teamId: string,
  now: Date
): Effect.Effect<number, StoreError> =>
  Effect.gen(function* () {
    yield* tx.lock([lockKey.team(teamId)])
    const state = yield* tx.routing.teamWithPosition(teamId)
    if (state === undefined) return 0
    const team = state.team
    const members = yield* tx.routing.listParticipants({ team: teamId })
    // A first, unlocked look at the room there is, to size the batch; the locked count decides.
    const available = members.filter((m) => isAvailable(m, now))
    if (available.length === 0) return 0
    const roughLoads = yield* tx.routing.loads(available.map((m) => m.id))
    const room = available.reduce((sum, m) => sum + Math.max(0, m.capacity - (roughLoads.get(m.id) ?? 0)), 0)
    if (room === 0) return 0
    const entries = yield* tx.routing.queued(teamId, Math.min(500, room + 50))
    if (entries.length === 0) return 0
    const ids = entries.map((e) => e.conversationId)
    // Read again under the locks: the unlocked queue read may be stale.
    const conversations = new Map((yield* lockConversations(tx, ids)).map((c) => [c.id as string, c]))
    const current = new Map((yield* tx.routing.getRouting(ids)).map((e) => [e.conversationId as string, e]))
    const live: RoutingEntry[] = []
    const stale: RoutingEntry[] = []
    for (const e of entries) {
      const c = conversations.get(e.conversationId)
      const entry = current.get(e.conversationId)
      if (entry === undefined || !entry.queued || entry.teamId !== teamId) continue
      const waitingHere =
        c !== undefined && c.status !== "resolved" && c.assignee._tag === "team" && c.assignee.id === teamId
      if (waitingHere) live.push(entry)
      else stale.push(entry)
    }
    if (stale.length > 0) {
      yield* tx.routing.putRouting(stale.map((e) => ({ ...e, queued: false })))
      for (const e of stale) yield* tx.cancelDeadline(routingKey.overflow(e.conversationId))
    }
    if (live.length === 0) return 0
    const { snapshot } = yield* lockedSnapshot(tx, team, state.roundRobinLast, members, now)
    const requests = live.map((e) => requestFor(conversations.get(e.conversationId)!, e.skills))
    const plan = planQueue(snapshot, requests, strategyOf(options, team, log))
    const byId = new Map(live.map((e) => [e.conversationId as string, e]))
    const kinds = new Map(snapshot.members.map((m) => [m.id, m.kind]))
    yield* writePlacements(
      tx,
      plan.assignments.map((a) =>
        placementOf(
          conversations.get(a.conversationId)!,
          team,
          byId.get(a.conversationId),
          { id: a.memberId, kind: kinds.get(a.memberId)! },
          byId.get(a.conversationId)!.skills,
          now
        )
      ),
      now
    )
    if (plan.team.lastAssigned !== undefined && plan.team.lastAssigned !== snapshot.lastAssigned)
      yield* tx.routing.setRoundRobinLast(teamId, plan.team.lastAssigned)
    return plan.assignments.length
  })

/** Arms a drain of each team now; repeated arms of one team coalesce into one drain. */
export const armDrains = (tx: StoreTx, teamIds: Iterable<string>, now: Date) =>
  tx.armDeadlines(
    [...new Set(teamIds)].map((teamId) => ({
      key: routingKey.drain(teamId),
      kind: routingKind,
      dueAt: now,
      payload: { op: "drain", teamId }
    }))
  )
