import { Effect } from "effect"
import type { StoreError } from "../../domain/Errors.js"
import type { ConversationId } from "../../domain/Ids.js"
import { chooseRule } from "../../routing/RoutingRule.js"
import type { NewDeadline, StoreTx } from "../../store/Store.js"
import { type LogFn, type PlaceResult, placeInTeam, routingKey, routingKind } from "./placement.js"
import type { ResolvedRoutingOptions } from "./RoutingOptions.js"

/**
 * Routes a conversation by the rules: the first rule matching its channel, tags, priority and
 * the contact's language and attributes names the team (else the default team), and the
 * team's strategy places it. With `onlyUnrouted`, a conversation that already has an owner or
 * a team is left alone, so a repeated trigger never routes twice; one that belongs to a team
 * (reopened by the customer, say) goes back into that team.
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
    const [entry] = yield* tx.routing.getRouting([conversationId])
    const owner = conversation.assignee
    // Reopened while it belonged to a team: back into that team's queue (or to a free member).
    if (extra.onlyUnrouted && owner._tag === "team")
      return yield* placeInTeam(
        tx,
        options,
        log,
        {
          conversationId,
          teamId: owner.id,
          guard: (c) => c.assignee._tag === "team" && c.assignee.id === owner.id
        },
        now
      )
    if (extra.onlyUnrouted && (owner._tag !== "none" || entry !== undefined))
      return { _tag: "skipped", reason: "already routed" } as const
    // A conversation that already belongs to a team goes back to it; only new ones meet the rules.
    if (entry !== undefined)
      return yield* placeInTeam(
        tx,
        options,
        log,
        { conversationId, teamId: entry.teamId, exclude: extra.exclude },
        now
      )
    const contact = yield* tx.getContact(conversation.contactId)
    const rule = chooseRule(options.rules, {
      channel: conversation.lastInboundChannel,
      tags: conversation.tags,
      priority: conversation.priority,
      attributes: contact?.attributes ?? {}
    })
    const teamId = rule?.team ?? options.defaultTeam
    if (teamId === undefined)
      return { _tag: "skipped", reason: "no rule matched and no default team" } as const
    return yield* placeInTeam(
      tx,
      options,
      log,
      {
        conversationId,
        teamId,
        skills: rule?.skills ?? [],
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
