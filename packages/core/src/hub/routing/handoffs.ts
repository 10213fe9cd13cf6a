import { Effect } from "effect"
import { type Assignee, Conversation } from "../../domain/Conversation.js"
import { NotFound, type StoreError } from "../../domain/Errors.js"
import type { EventBody } from "../../domain/Event.js"
import { type ConversationId, newId } from "../../domain/Ids.js"
import type { Message } from "../../domain/Message.js"
import { Handoff, type HandoffRequest, type TranscriptEntry } from "../../routing/Handoff.js"
import {
  AtCapacity,
  HandoffAlreadyPending,
  HandoffNotPending,
  NotPermitted,
  RoutingNotFound
} from "../../routing/RoutingErrors.js"
import type { StoreTx } from "../../store/Store.js"
import {
  armDrains,
  type LogFn,
  lockConversations,
  lockKey,
  placeInTeam,
  routingKey,
  sameAssignee
} from "./placement.js"
import type { ResolvedRoutingOptions } from "./RoutingOptions.js"
import { routeByRules } from "./routeByRules.js"

/** The deadline kind of handoff acceptance windows. */
export const handoffKind = "handoff"
const handoffDeadlineKey = (id: string) => `handoff:${id}`

const authorText = (m: Message): string =>
  m.author._tag === "agent" || m.author._tag === "bot" ? `${m.author._tag}:${m.author.id}` : m.author._tag

const maxEntryText = 500

/** A message flattened for the transcript summary: its text, or what kind of content it was. */
export const transcriptEntry = (m: Message): TranscriptEntry => {
  const texts = m.parts.map((p) => {
    switch (p._tag) {
      case "text":
        return p.text
      case "html":
        return p.html
          .replace(/<[^>]*>/g, " ")
          .replace(/\s+/g, " ")
          .trim()
      default:
        return `[${p._tag}]`
    }
  })
  const text = texts.join("\n").trim()
  return {
    messageId: m.id,
    channel: m.channel,
    direction: m.direction,
    author: authorText(m),
    visibility: m.visibility,
    text: text.length > maxEntryText ? `${text.slice(0, maxEntryText - 1)}…` : text,
    at: m.sentAt.getTime()
  }
}

/** Asks someone to take a conversation over; the current owner keeps it until then. */
export const requestHandoff = (
  tx: StoreTx,
  options: ResolvedRoutingOptions,
  conversationId: string,
  request: typeof HandoffRequest.Type,
  now: Date
): Effect.Effect<Handoff, NotFound | RoutingNotFound | HandoffAlreadyPending | StoreError> =>
  Effect.gen(function* () {
    yield* tx.lock([lockKey.conversation(conversationId)])
    const [conversation] = yield* tx.getConversations([conversationId as ConversationId])
    if (conversation === undefined) return yield* new NotFound({ entity: "conversation", id: conversationId })
    const pending = yield* tx.routing.pendingHandoff(conversation.id)
    if (pending) return yield* new HandoffAlreadyPending({ conversationId, handoffId: pending.id })
    const to = request.to
    if (to._tag === "team") {
      if ((yield* tx.routing.getTeams([to.id])).length === 0)
        return yield* new RoutingNotFound({ entity: "team", id: to.id })
    } else {
      const [p] = yield* tx.routing.getParticipants([to.id])
      if (p === undefined || p.kind !== to._tag)
        return yield* new RoutingNotFound({ entity: "participant", id: to.id })
    }
    const messages =
      options.transcriptMessages > 0
        ? yield* tx.routing.lastMessages(conversation.id, options.transcriptMessages)
        : []
    const handoff = new Handoff({
      id: newId("ho"),
      conversationId: conversation.id,
      from: conversation.assignee,
      to,
      reason: request.reason,
      note: request.note,
      summary: messages.map(transcriptEntry),
      state: "requested",
      requestedBy: request.by,
      requestedAt: now,
      expiresAt: new Date(now.getTime() + (request.acceptWithinMs ?? options.handoffAcceptMs))
    })
    yield* tx.routing.insertHandoff(handoff)
    yield* tx.armDeadline({
      key: handoffDeadlineKey(handoff.id),
      kind: handoffKind,
      dueAt: handoff.expiresAt,
      payload: { handoffId: handoff.id }
    })
    yield* tx.appendEvents(
      [
        {
          _tag: "handoff.requested",
          conversationId: conversation.id,
          handoffId: handoff.id,
          from: handoff.from,
          to: handoff.to,
          reason: handoff.reason,
          note: handoff.note,
          summary: handoff.summary,
          requestedBy: handoff.requestedBy,
          expiresAt: handoff.expiresAt.getTime()
        }
      ],
      now
    )
    return handoff
  })

/** The pending handoff and the participant deciding on it, checked and locked. */
const loadDecision = (tx: StoreTx, handoffId: string, participantId: string) =>
  Effect.gen(function* () {
    yield* tx.lock([lockKey.handoff(handoffId)])
    const handoff = yield* tx.routing.getHandoff(handoffId)
    if (handoff === undefined) return yield* new RoutingNotFound({ entity: "handoff", id: handoffId })
    if (handoff.state !== "requested")
      return yield* new HandoffNotPending({ handoffId, state: handoff.state })
    const [participant] = yield* tx.routing.getParticipants([participantId])
    if (participant === undefined)
      return yield* new RoutingNotFound({ entity: "participant", id: participantId })
    const to = handoff.to
    const allowed =
      to._tag === "team"
        ? participant.teams.includes(to.id)
        : to._tag === participant.kind && to.id === participant.id
    if (!allowed)
      return yield* new NotPermitted({
        participantId,
        message: `[dialogi/routing] handoff ${handoffId} is for ${to._tag} ${to.id}`
      })
    return { handoff, participant }
  })

/** Writes the decision unless someone else decided first (then: HandoffNotPending). */
const decide = (tx: StoreTx, handoff: Handoff) =>
  Effect.gen(function* () {
    if (!(yield* tx.routing.updateHandoff(handoff, "requested"))) {
      const current = yield* tx.routing.getHandoff(handoff.id)
      return yield* new HandoffNotPending({ handoffId: handoff.id, state: current?.state ?? "unknown" })
    }
    yield* tx.cancelDeadline(handoffDeadlineKey(handoff.id))
  })

/** Frees the previous owner's slot: their teams' queues may move now. */
const drainTeamsOf = (tx: StoreTx, previous: Assignee, now: Date) =>
  Effect.gen(function* () {
    if (previous._tag !== "agent" && previous._tag !== "bot") return
    const [p] = yield* tx.routing.getParticipants([previous.id])
    if (p) yield* armDrains(tx, p.teams, now)
  })

/**
 * Accepts a handoff: the participant becomes the owner. Exactly one of several concurrent
 * accepts wins (handoff lock, then a conditional update); the others fail with
 * HandoffNotPending. Capacity is checked under the participant's lock.
 */
export const acceptHandoff = (
  tx: StoreTx,
  handoffId: string,
  participantId: string,
  now: Date
): Effect.Effect<
  { readonly handoff: Handoff; readonly conversation: Conversation },
  RoutingNotFound | HandoffNotPending | NotPermitted | AtCapacity | NotFound | StoreError
> =>
  Effect.gen(function* () {
    const { handoff, participant } = yield* loadDecision(tx, handoffId, participantId)
    if (handoff.to._tag === "team") yield* tx.lock([lockKey.team(handoff.to.id)])
    const [conversation] = yield* lockConversations(tx, [handoff.conversationId])
    yield* tx.lock([lockKey.participant(participant.id)])
    if (conversation === undefined)
      return yield* new NotFound({ entity: "conversation", id: handoff.conversationId })
    const assignee: Assignee = { _tag: participant.kind, id: participant.id }
    if (!sameAssignee(conversation.assignee, assignee) && conversation.status !== "resolved") {
      const load = (yield* tx.routing.loads([participant.id])).get(participant.id) ?? 0
      if (load >= participant.capacity)
        return yield* new AtCapacity({ participantId, capacity: participant.capacity, load })
    }
    const decided = new Handoff({ ...handoff, state: "accepted", decidedAt: now, decidedBy: participant.id })
    yield* decide(tx, decided)
    const events: EventBody[] = []
    let updated = conversation
    if (!sameAssignee(conversation.assignee, assignee)) {
      updated = new Conversation({ ...conversation, assignee, updatedAt: now })
      yield* tx.updateConversations([updated])
      events.push({
        _tag: "conversation.assigned",
        conversationId: conversation.id,
        from: conversation.assignee,
        to: assignee
      })
    }
    const [entry] = yield* tx.routing.getRouting([conversation.id])
    const teamId = handoff.to._tag === "team" ? handoff.to.id : (entry?.teamId ?? participant.teams[0])
    if (teamId !== undefined)
      yield* tx.routing.putRouting([
        {
          conversationId: conversation.id,
          teamId,
          queued: false,
          priority: conversation.priority,
          skills: entry?.skills ?? [],
          queuedAt: entry?.queuedAt ?? now
        }
      ])
    if (entry?.queued) yield* tx.cancelDeadline(routingKey.overflow(conversation.id))
    events.push({ _tag: "handoff.accepted", conversationId: conversation.id, handoffId, by: participant.id })
    yield* tx.appendEvents(events, now)
    if (!sameAssignee(conversation.assignee, assignee)) yield* drainTeamsOf(tx, conversation.assignee, now)
    return { handoff: decided, conversation: updated }
  })

/** Re-routes after a handoff ended unaccepted: into the target team, else by team or rules. */
const reroute = (
  tx: StoreTx,
  options: ResolvedRoutingOptions,
  log: LogFn,
  handoff: Handoff,
  exclude: ReadonlyArray<string>,
  now: Date
) =>
  handoff.to._tag === "team"
    ? placeInTeam(
        tx,
        options,
        log,
        { conversationId: handoff.conversationId, teamId: handoff.to.id, exclude },
        now
      )
    : routeByRules(tx, options, log, handoff.conversationId, now, { exclude })

/** Declines a handoff; the conversation is routed again without the one who declined. */
export const declineHandoff = (
  tx: StoreTx,
  options: ResolvedRoutingOptions,
  log: LogFn,
  handoffId: string,
  participantId: string,
  reason: string | undefined,
  now: Date
): Effect.Effect<Handoff, RoutingNotFound | HandoffNotPending | NotPermitted | StoreError> =>
  Effect.gen(function* () {
    const { handoff, participant } = yield* loadDecision(tx, handoffId, participantId)
    const decided = new Handoff({
      ...handoff,
      state: "declined",
      decidedAt: now,
      decidedBy: participant.id,
      declineReason: reason
    })
    yield* decide(tx, decided)
    yield* tx.appendEvents(
      [
        {
          _tag: "handoff.declined",
          conversationId: handoff.conversationId,
          handoffId,
          by: participant.id,
          reason
        }
      ],
      now
    )
    yield* reroute(tx, options, log, handoff, [participant.id], now)
    return decided
  })

/** The acceptance deadline fired: expire the handoff (if still pending) and route again. */
export const expireHandoff = (
  tx: StoreTx,
  options: ResolvedRoutingOptions,
  log: LogFn,
  handoffId: string,
  now: Date
): Effect.Effect<void, StoreError> =>
  Effect.gen(function* () {
    yield* tx.lock([lockKey.handoff(handoffId)])
    const handoff = yield* tx.routing.getHandoff(handoffId)
    if (handoff === undefined || handoff.state !== "requested") return
    const expired = new Handoff({ ...handoff, state: "expired", decidedAt: now })
    if (!(yield* tx.routing.updateHandoff(expired, "requested"))) return
    yield* tx.appendEvents(
      [{ _tag: "handoff.expired", conversationId: handoff.conversationId, handoffId }],
      now
    )
    const exclude = handoff.to._tag === "team" ? [] : [handoff.to.id]
    yield* reroute(tx, options, log, handoff, exclude, now)
  })
