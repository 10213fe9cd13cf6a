import { Effect } from "effect"
import { type Assignee, Conversation } from "../../domain/Conversation.js"
import type { StoreError } from "../../domain/Errors.js"
import type { ConversationId } from "../../domain/Ids.js"
import { chooseRule } from "../../routing/RoutingRule.js"
import type { RoutingEntry } from "../../routing/RoutingStore.js"
import type { NewDeadline, StoreTx } from "../../store/Store.js"
import {
  isAvailable,
  type LogFn,
  lockConversations,
  lockKey,
  type PlaceResult,
  placeInTeam,
  routingKey,
  routingKind,
  sameAssignee
} from "./placement.js"
import type { ResolvedRoutingOptions } from "./RoutingOptions.js"

/** The first rule matching a conversation and its contact. */
const ruleFor = (tx: StoreTx, options: ResolvedRoutingOptions, conversation: Conversation) =>
  Effect.map(
    // Only language and attribute conditions look at the contact: without them it is not read.
    options.rules.some((r) => r.match.languages !== undefined || r.match.attributes !== undefined)
      ? tx.getContact(conversation.contactId)
      : Effect.succeed(undefined),
    (contact) =>
      chooseRule(options.rules, {
        channel: conversation.lastInboundChannel,
        tags: conversation.tags,
        priority: conversation.priority,
        attributes: contact?.attributes ?? {}
      })
  )

/**
 * Where a conversation goes and the skills it needs: its routing entry's team when it was
 * routed before, else the first matching rule's, else the default team (undefined: nowhere).
 */
const destinationOf = (
  tx: StoreTx,
  options: ResolvedRoutingOptions,
  conversation: Conversation,
  entry: RoutingEntry | undefined
): Effect.Effect<
  { readonly teamId: string | undefined; readonly skills: ReadonlyArray<string> },
  StoreError
> =>
  entry !== undefined
    ? Effect.succeed({ teamId: entry.teamId, skills: entry.skills })
    : Effect.map(ruleFor(tx, options, conversation), (rule) => ({
        teamId: rule?.team ?? options.defaultTeam,
        skills: rule?.skills ?? []
      }))

/**
 * A reopened conversation with no team to go to: its owner keeps it when available and with
 * room (this conversation counted once); otherwise it is unassigned, as a new conversation no
 * rule matches would be, rather than waiting on someone who cannot take it.
 */
const keepOrRelease = (
  tx: StoreTx,
  log: LogFn,
  conversationId: ConversationId,
  owner: Extract<Assignee, { readonly id: string }>,
  stillOwner: (c: Conversation) => boolean,
  now: Date
): Effect.Effect<PlaceResult, StoreError> =>
  Effect.gen(function* () {
    const [conversation] = yield* lockConversations(tx, [conversationId])
    if (conversation === undefined || !stillOwner(conversation))
      return { _tag: "skipped", reason: "guard" } as const
    yield* tx.lock([lockKey.participant(owner.id)])
    const [participant] = yield* tx.routing.getParticipants([owner.id])
    const load = (yield* tx.routing.loads([owner.id])).get(owner.id) ?? 0
    if (participant && isAvailable(participant, now) && load - 1 < participant.capacity) {
      yield* tx.appendEvents([{ _tag: "routing.returned", conversationId, participantId: owner.id }], now)
      return { _tag: "kept", participantId: owner.id } as const
    }
    log("info", `routing: ${owner.id} cannot take reopened ${conversationId} and no team is configured`)
    yield* tx.updateConversations([
      new Conversation({ ...conversation, assignee: { _tag: "none" }, updatedAt: now }, true)
    ])
    yield* tx.appendEvents(
      [{ _tag: "conversation.assigned", conversationId, from: conversation.assignee, to: { _tag: "none" } }],
      now
    )
    return { _tag: "skipped", reason: `${owner.id} cannot take it and there is no team` } as const
  })

/**
 * Routes a conversation by the rules: the first rule matching its channel, tags, priority and
 * the contact's language and attributes names the team (else the default team), and the
 * team's strategy places it. With `onlyUnrouted`, a conversation that already has an owner or
 * a team is left alone, so a repeated trigger never routes twice; one that belongs to a team
 * (reopened by the customer, say) goes back into that team, and one its agent owned goes back
 * to them only when they are available and have room.
 */
export const routeByRules = (
  tx: StoreTx,
  options: ResolvedRoutingOptions,
  log: LogFn,
  conversationId: ConversationId,
  now: Date,
  extra: { readonly onlyUnrouted?: boolean; readonly exclude?: ReadonlyArray<string> } = {}
): Effect.Effect<PlaceResult, StoreError> =>
  Effect.gen(function* () {
    const [conversation] = yield* tx.getConversations([conversationId])
    if (conversation === undefined || conversation.status === "resolved")
      return { _tag: "skipped", reason: "conversation resolved or gone" } as const
    const owner = conversation.assignee
    const contactId = conversation.contactId
    // A new conversation (no owner) needs no look at its routing entry before the locks: the
    // guard below refuses one that has an entry by then.
    const [entry] =
      extra.onlyUnrouted && (owner._tag === "none" || owner._tag === "team")
        ? []
        : yield* tx.routing.getRouting([conversationId])
    // Reopened while it belonged to a team: back into that team's queue (or to a free member).
    if (extra.onlyUnrouted && owner._tag === "team")
      return yield* placeInTeam(
        tx,
        options,
        log,
        {
          conversationId,
          teamId: owner.id,
          contactId,
          guard: (c) => c.assignee._tag === "team" && c.assignee.id === owner.id
        },
        now
      )
    // Reopened while an agent or bot owned it: back to them if they are available and have
    // room, else into the team's queue (or to another member) like a new conversation.
    if (extra.onlyUnrouted && (owner._tag === "agent" || owner._tag === "bot")) {
      const { teamId, skills } = yield* destinationOf(tx, options, conversation, entry)
      const stillOwner = (c: Conversation) => sameAssignee(c.assignee, owner) && c.status !== "resolved"
      if (teamId === undefined) return yield* keepOrRelease(tx, log, conversationId, owner, stillOwner, now)
      return yield* placeInTeam(
        tx,
        options,
        log,
        {
          conversationId,
          teamId,
          contactId,
          skills,
          preferOwner: true,
          guard: stillOwner
        },
        now
      )
    }
    if (extra.onlyUnrouted && (owner._tag !== "none" || entry !== undefined))
      return { _tag: "skipped", reason: "already routed" } as const
    // A conversation that already belongs to a team goes back to it; only new ones meet the rules.
    if (entry !== undefined)
      return yield* placeInTeam(
        tx,
        options,
        log,
        { conversationId, teamId: entry.teamId, contactId, exclude: extra.exclude },
        now
      )
    const { teamId, skills } = yield* destinationOf(tx, options, conversation, entry)
    if (teamId === undefined)
      return { _tag: "skipped", reason: "no rule matched and no default team" } as const
    return yield* placeInTeam(
      tx,
      options,
      log,
      {
        conversationId,
        teamId,
        contactId,
        skills,
        exclude: extra.exclude,
        // Checked again under the conversation lock: someone may have assigned it meanwhile.
        guard: extra.onlyUnrouted ? (c, e) => c.assignee._tag === "none" && e === undefined : undefined
      },
      now
    )
  })

/**
 * The routing deadlines of opened and reopened conversations, due now; ingest writes them with
 * the rest of its batch.
 */
export const routeNewConversations = (
  conversationIds: ReadonlyArray<ConversationId>,
  now: Date
): ReadonlyArray<NewDeadline> =>
  conversationIds.map((conversationId) => ({
    key: routingKey.route(conversationId),
    kind: routingKind,
    dueAt: now,
    payload: { op: "route", conversationId }
  }))
