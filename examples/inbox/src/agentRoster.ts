import type { DialogiHub } from "@dialogi/core"

/** The team every agent who signs in to this inbox joins, so handoffs have somewhere to go. */
export const inboxTeam = "support"

/**
 * Makes a signed-in agent a routing participant (core's handoffs go to participants and
 * teams). Upserting on every sign-in keeps a fresh database (or a wiped one) usable without
 * an admin step; fields the agent already has, such as availability, stay as they are.
 */
export const enrollAgent = async (hub: DialogiHub, agentId: string): Promise<void> => {
  const teams = await hub.routing.teams()
  if (!teams.some((team) => team.id === inboxTeam))
    await hub.routing.upsertTeam({ id: inboxTeam, name: "Support" })
  await hub.routing.upsertParticipant({ id: agentId, kind: "agent", teams: [inboxTeam] })
}

/** Who a conversation can be handed to: every team and every agent or bot the hub knows. */
export const handoffTargets = async (hub: DialogiHub) => {
  const [teams, participants] = await Promise.all([hub.routing.teams(), hub.routing.participants()])
  return {
    teams: teams.map((team) => team.id),
    participants: participants.map((p) => ({ id: p.id, kind: p.kind, availability: p.availability }))
  }
}
