import { Effect } from "effect"
import type { Conversation } from "../../domain/Conversation.js"
import type { StoreError } from "../../domain/Errors.js"
import type { StoreTx } from "../../store/Store.js"
import { armDrains, routingKey, routingKind, sameAssignee } from "./placement.js"

/**
 * What routing does when a conversation's status or assignee changes (in that change's
 * transaction): a freed slot drains its owner's teams, a resolved waiting conversation leaves
 * the queue, a new priority re-sorts its queue entry, and a conversation assigned to a team by
 * hand is placed by the team's strategy.
 */
export const afterConversationChange = (
  t: StoreTx,
  before: Conversation,
  after: Conversation,
  now: Date
): Effect.Effect<void, StoreError> =>
  Effect.gen(function* () {
    const left = before.assignee
    const freed =
      (left._tag === "agent" || left._tag === "bot") &&
      (!sameAssignee(left, after.assignee) || (after.status === "resolved" && before.status !== "resolved"))
    if (freed) {
      const [p] = yield* t.routing.getParticipants([left.id])
      if (p) yield* armDrains(t, p.teams, now)
    }
    const resolvedNow = after.status === "resolved" && before.status !== "resolved"
    if (resolvedNow || after.priority !== before.priority) {
      const [entry] = yield* t.routing.getRouting([after.id])
      // Resolved while waiting: it leaves the queue now rather than at the next drain.
      if (resolvedNow && entry?.queued) {
        yield* t.routing.putRouting([{ ...entry, queued: false }])
        yield* t.cancelDeadline(routingKey.overflow(after.id))
      }
      // A new priority moves a waiting conversation to its place among that priority's
      // conversations; its waiting time (queuedAt) still orders it within them.
      else if (entry !== undefined && entry.priority !== after.priority)
        yield* t.routing.putRouting([{ ...entry, priority: after.priority }])
    }
    const to = after.assignee
    // Assigned to a person or bot by hand: that decides, also over a routing of this
    // conversation (new or reopened) that has not run yet.
    if ((to._tag === "agent" || to._tag === "bot") && !sameAssignee(before.assignee, to))
      yield* t.cancelDeadline(routingKey.route(after.id))
    // Assigned to a team by hand: the team's strategy places it (or it waits in the queue).
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
  })
