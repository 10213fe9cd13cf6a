import { Effect, type Scope } from "effect"
import type { StoreError } from "../../domain/Errors.js"
import type { ConversationId } from "../../domain/Ids.js"
import type { Deadline, StoreTx } from "../../store/Store.js"
import { callbackKind, fireCallback } from "./callbacks.js"
import { expireHandoff, handoffKind } from "./handoffs.js"
import { armDrains, drainTeam, placeInTeam, routingKey, routingKind } from "./placement.js"
import type { RoutingContext } from "./RoutingContext.js"
import { routeByRules } from "./routeByRules.js"

/**
 * The deadline runner of routing, handoff acceptance and callbacks: every piece of routing work
 * is a durable deadline, armed in the transaction that needs it, so it survives restarts and
 * runs once across instances.
 */
export const runRoutingDeadlines = (ctx: RoutingContext): Effect.Effect<void, StoreError, Scope.Scope> => {
  const { store, registry, options, log } = ctx
  const overflow = (
    t: StoreTx,
    conversationId: ConversationId,
    fromTeam: string,
    visited: ReadonlyArray<string>,
    now: Date
  ) =>
    Effect.gen(function* () {
      const [team] = yield* t.routing.getTeams([fromTeam])
      if (team?.overflow === undefined) return
      const toTeam = team.overflow.toTeam
      // A loop of overflows (stored before upsertTeam refused them, or made by two instances
      // at once) would move the conversation round for ever: it stays in the last queue.
      if (visited.includes(toTeam)) {
        log(
          "warn",
          `routing: overflow loop ${[...visited, toTeam].join(" -> ")}; ${conversationId} stays in ${fromTeam}`
        )
        const [entry] = yield* t.routing.getRouting([conversationId])
        if (entry?.queued === true && entry.teamId === fromTeam)
          yield* t.appendEvents(
            [
              {
                _tag: "routing.overflow_stopped",
                conversationId,
                fromTeam,
                toTeam,
                reason: `overflow loop: ${[...visited, toTeam].join(" -> ")}`
              }
            ],
            now
          )
        return
      }
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
          events: [{ _tag: "routing.overflowed", conversationId, fromTeam, toTeam }],
          visited: [...visited, toTeam]
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
        return overflow(
          t,
          p.conversationId as ConversationId,
          String(p.teamId),
          // Overflows armed before `visited` was recorded started in their own team.
          Array.isArray(p.visited) ? p.visited.map(String) : [String(p.teamId)],
          now
        )
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

  return Effect.gen(function* () {
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
