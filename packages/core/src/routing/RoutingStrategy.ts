import type { Priority } from "../domain/Conversation.js"

/** One team member as routing sees it at one moment. */
export interface MemberSnapshot {
  readonly id: string
  readonly kind: "agent" | "bot"
  readonly skills: ReadonlyArray<string>
  readonly capacity: number
  /** Open conversations assigned now. */
  readonly load: number
  /** Online and inside working hours. */
  readonly available: boolean
}

/** A team as routing sees it: members sorted by id, and who got the last conversation. */
export interface TeamSnapshot {
  readonly teamId: string
  readonly members: ReadonlyArray<MemberSnapshot>
  /** The member picked last by round robin in this team. */
  readonly lastAssigned?: string | undefined
}

/** The conversation being placed. */
export interface RoutingRequest {
  readonly conversationId: string
  readonly priority: Priority
  readonly channel?: string | undefined
  readonly tags: ReadonlyArray<string>
  /** Skills the rule asked for. */
  readonly skills: ReadonlyArray<string>
  /** Members not to pick (the agent who let a handoff expire, say). */
  readonly exclude?: ReadonlyArray<string> | undefined
}

/**
 * Picks a member for a conversation, or none (the conversation then waits in the team queue).
 * A plain function over a snapshot: no I/O, so it is easy to test and to replace. Whatever it
 * returns, the hub only assigns a member that is available, below capacity and not excluded.
 */
export type RoutingStrategy = (team: TeamSnapshot, request: RoutingRequest) => string | undefined

/** A member that may take one more conversation now. */
export const isEligible = (member: MemberSnapshot, request: RoutingRequest): boolean =>
  member.available && member.load < member.capacity && !(request.exclude ?? []).includes(member.id)

const eligibleMembers = (team: TeamSnapshot, request: RoutingRequest) =>
  team.members.filter((m) => isEligible(m, request))

const byLoad = (a: MemberSnapshot, b: MemberSnapshot) =>
  a.load / a.capacity - b.load / b.capacity || a.load - b.load || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

/**
 * The next eligible member after the last one picked, in id order, wrapping around: over a
 * full cycle with the same members eligible, counts differ by at most one.
 */
export const roundRobin: RoutingStrategy = (team, request) => {
  const eligible = eligibleMembers(team, request)
  if (eligible.length === 0) return undefined
  const last = team.lastAssigned
  return (last === undefined ? undefined : eligible.find((m) => m.id > last))?.id ?? eligible[0]!.id
}

/** The eligible member with the lowest share of their capacity in use (then fewest open, then id). */
export const leastLoaded: RoutingStrategy = (team, request) =>
  [...eligibleMembers(team, request)].sort(byLoad)[0]?.id

/** Among eligible members with every requested skill, the least loaded. */
export const skillsMatch: RoutingStrategy = (team, request) =>
  [...eligibleMembers(team, request)]
    .filter((m) => request.skills.every((s) => m.skills.includes(s)))
    .sort(byLoad)[0]?.id

/** The built-in strategies by the name a team selects them with. */
export const builtInStrategies: Readonly<Record<string, RoutingStrategy>> = {
  round_robin: roundRobin,
  least_loaded: leastLoaded,
  skills: skillsMatch
}

/**
 * Runs a strategy and keeps only an answer that respects availability, capacity and
 * exclusions: a host function cannot push anyone over capacity.
 */
export const pickMember = (
  strategy: RoutingStrategy,
  team: TeamSnapshot,
  request: RoutingRequest
): MemberSnapshot | undefined => {
  const id = strategy(team, request)
  const member = id === undefined ? undefined : team.members.find((m) => m.id === id)
  return member && isEligible(member, request) ? member : undefined
}
