import {
  pickMember,
  type RoutingRequest,
  type RoutingStrategy,
  type TeamSnapshot
} from "./RoutingStrategy.js"

/** One placement decided by {@link planQueue}. */
export interface Assignment {
  readonly conversationId: string
  readonly memberId: string
  readonly memberKind: "agent" | "bot"
}

/** What {@link planQueue} decided. */
export interface QueuePlan {
  readonly assignments: ReadonlyArray<Assignment>
  /** Still waiting, in queue order. */
  readonly waiting: ReadonlyArray<RoutingRequest>
  /** The team after the assignments (loads and round robin position moved on). */
  readonly team: TeamSnapshot
}

/**
 * Places queued conversations, in queue order, on the members a strategy picks. Each pick
 * raises that member's load in the snapshot before the next one, so a plan never puts anyone
 * above capacity; a conversation nobody can take keeps its place. Every request ends up in
 * exactly one of `assignments` and `waiting`.
 */
export const planQueue = (
  team: TeamSnapshot,
  queue: ReadonlyArray<RoutingRequest>,
  strategy: RoutingStrategy
): QueuePlan => {
  const members = team.members.map((m) => ({ ...m }))
  let current: TeamSnapshot = { ...team, members }
  const assignments: Assignment[] = []
  const waiting: RoutingRequest[] = []
  for (const request of queue) {
    const member = pickMember(strategy, current, request)
    if (member === undefined) {
      waiting.push(request)
      continue
    }
    const index = members.findIndex((m) => m.id === member.id)
    members[index] = { ...members[index]!, load: members[index]!.load + 1 }
    current = { ...current, members: [...members], lastAssigned: member.id }
    assignments.push({ conversationId: request.conversationId, memberId: member.id, memberKind: member.kind })
  }
  return { assignments, waiting, team: current }
}
