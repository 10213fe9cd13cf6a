import type { DialogiHub } from "@dialogi/core"
import { Schema } from "effect"
import { AgentId, apiAgent } from "./agentAuth.ts"

/** The team every agent who signs in with the shared token joins, and where conversations go by default. */
export const inboxTeam = "support"

/**
 * An agent of the roster (`INBOX_AGENTS`): their own sign-in token, their teams, and whether
 * they are an admin. A roster name can only be signed in with its own token, so the shared
 * token cannot be used to act as a roster agent.
 */
export const RosterAgent = Schema.Struct({
  id: AgentId.pipe(Schema.filter((id) => id !== apiAgent || `"${apiAgent}" is reserved for scripts`)),
  token: Schema.Redacted(Schema.String.pipe(Schema.minLength(16))),
  teams: Schema.optionalWith(Schema.Array(AgentId), { default: () => [] }),
  role: Schema.optionalWith(Schema.Literal("agent", "admin"), { default: () => "agent" as const })
})
/** @see RosterAgent */
export type RosterAgent = typeof RosterAgent.Type

/** `INBOX_AGENTS`: a JSON array of roster agents with distinct ids. */
export const Roster = Schema.parseJson(Schema.Array(RosterAgent)).pipe(
  Schema.filter(
    (agents) =>
      new Set(agents.map((a) => a.id)).size === agents.length || "an agent id appears twice in INBOX_AGENTS"
  )
)

/** Every team the app routes to or seats an agent in; each must exist before agents join it. */
export const teamsOf = (
  roster: ReadonlyArray<RosterAgent>,
  channelTeams: Readonly<Record<string, string>>
) => [...new Set([inboxTeam, ...Object.values(channelTeams), ...roster.flatMap((a) => a.teams)])]

/** Creates the teams that do not exist yet (names are kept when they do). */
export const ensureTeams = async (hub: DialogiHub, teamIds: ReadonlyArray<string>): Promise<void> => {
  const existing = new Set((await hub.routing.teams()).map((team) => team.id))
  for (const id of teamIds)
    if (!existing.has(id)) await hub.routing.upsertTeam({ id, name: id === inboxTeam ? "Support" : id })
}

/**
 * Makes an agent a routing participant with the teams and role the app gives them: a roster
 * agent's from the roster, the script key's admin role, and team `support` for everyone who
 * signs in with the shared token. Upserting on every sign-in keeps a fresh (or wiped) database
 * usable without an admin step, and takes back a role or team the configuration no longer
 * gives; fields the agent already has, such as availability, stay as they are.
 */
export const enrollAgent = async (
  hub: DialogiHub,
  agentId: string,
  roster: ReadonlyArray<RosterAgent>
): Promise<void> => {
  const listed = roster.find((a) => a.id === agentId)
  if (listed) {
    await ensureTeams(hub, listed.teams)
    await hub.routing.upsertParticipant({
      id: agentId,
      kind: "agent",
      teams: listed.teams,
      role: listed.role
    })
    return
  }
  if (agentId === apiAgent) {
    await hub.routing.upsertParticipant({ id: agentId, kind: "agent", teams: [], role: "admin" })
    return
  }
  await ensureTeams(hub, [inboxTeam])
  await hub.routing.upsertParticipant({ id: agentId, kind: "agent", teams: [inboxTeam], role: "agent" })
}

/** Who a conversation can be handed to: every team and every agent or bot the hub knows. */
export const handoffTargets = async (hub: DialogiHub) => {
  const [teams, participants] = await Promise.all([hub.routing.teams(), hub.routing.participants()])
  return {
    teams: teams.map((team) => team.id),
    participants: participants
      .filter((p) => p.id !== apiAgent)
      .map((p) => ({ id: p.id, kind: p.kind, availability: p.availability }))
  }
}
