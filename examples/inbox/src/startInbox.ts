import type { AddressInfo } from "node:net"
import { createHub, type DialogiHub } from "@dialogi/core"
import type { Redacted } from "effect"
import { apiAgent, makeAgentAuth } from "./agentAuth.ts"
import { enrollAgent, ensureTeams, inboxTeam, teamsOf } from "./agentRoster.ts"
import { configureChannels, type WebhookRoute } from "./channels.ts"
import type { InboxConfig } from "./config.ts"
import { expectedReplyReader } from "./expectedReply.ts"
import { loadOrCreateSecrets } from "./generatedSecrets.ts"
import { trackEventHead } from "./liveEvents.ts"
import { createInboxServer } from "./server.ts"
import { openStore } from "./storage.ts"

/** A started inbox: where it listens, what it runs, and how to stop it. */
export interface RunningInbox {
  readonly hub: DialogiHub
  /** Base URL, e.g. http://127.0.0.1:3000 */
  readonly url: string
  readonly token: Redacted.Redacted<string>
  /** True when the token was generated (first run) or read back from the data directory. */
  readonly tokenFromDataDir: boolean
  readonly storage: string
  readonly channels: ReadonlyArray<string>
  readonly webhooks: ReadonlyArray<WebhookRoute>
  readonly close: () => Promise<void>
}

/**
 * One always-open policy for every conversation, so the inbox shows reply countdowns out of
 * the box; a real deployment writes its own policies with business calendars.
 */
const slaOptions = (config: InboxConfig) => {
  const minutes = (n: number) => (n > 0 ? n * 60_000 : undefined)
  const firstResponse = minutes(config.slaMinutes.firstResponse)
  const nextResponse = minutes(config.slaMinutes.nextResponse)
  if (firstResponse === undefined && nextResponse === undefined) return {}
  return {
    sla: {
      policies: [
        {
          id: "inbox-default",
          name: "Inbox default",
          targets: {
            ...(firstResponse ? { firstResponse } : {}),
            ...(nextResponse ? { nextResponse } : {})
          }
        }
      ]
    }
  }
}

/**
 * New conversations go to the team of their channel (`INBOX_CHANNEL_TEAMS`), else to team
 * `support`, whose members are everyone who signs in with the shared token: so a customer's
 * first chat is in front of the agents of the demo at once, and an agent sees only the
 * conversations of their own teams (admins see all).
 */
const routingOptions = (config: InboxConfig) => ({
  defaultTeam: inboxTeam,
  rules: Object.entries(config.channelTeams).map(([channel, team]) => ({
    name: `${channel} to ${team}`,
    match: { channels: [channel] },
    team
  }))
})

/**
 * Routes the open conversations nobody owns: those that arrived before this app routed at all
 * (a data directory from an older version) or before its teams existed on a first start. Left
 * unrouted they would be in nobody's team, so no agent but an admin would see them.
 */
const routeUnowned = async (hub: DialogiHub): Promise<void> => {
  let after: string | undefined
  do {
    const page = await hub.listConversations(
      { status: ["open", "waiting_on_customer", "snoozed"], assignee: { _tag: "none" } },
      { limit: 500, ...(after === undefined ? {} : { after }) }
    )
    for (const conversation of page.items) await hub.routing.route(conversation.id)
    after = page.next
  } while (after !== undefined)
}

/**
 * Opens the store, plugs in every configured channel, and serves the customer page, the
 * inbox and the webhooks on one http server. Used by `main.ts` and, in process, by tests.
 */
export const startInbox = async (
  config: InboxConfig,
  options: { readonly log?: (level: "debug" | "info" | "warn" | "error", message: string) => void } = {}
): Promise<RunningInbox> => {
  const generated =
    config.token === undefined || config.chatSecret === undefined
      ? await loadOrCreateSecrets(config.dataDir)
      : undefined
  const token = config.token ?? generated!.inboxToken
  const chatSecret = config.chatSecret ?? generated!.chatSecret

  const opened = await openStore(config)
  let hub: DialogiHub | undefined
  const channels = configureChannels(config, chatSecret, () => hub!, opened.store)
  hub = await createHub({
    store: opened.store,
    adapters: channels.adapters,
    ...slaOptions(config),
    routing: routingOptions(config),
    sendRetryDelayMs: 1_000,
    ...(options.log ? { log: options.log } : {})
  })
  const openHub = hub
  // Teams before the first conversation is routed to them; roster agents before they sign in,
  // so handoffs can name them.
  await ensureTeams(openHub, teamsOf(config.agents, config.channelTeams))
  for (const id of [apiAgent, ...config.agents.map((a) => a.id)])
    await enrollAgent(openHub, id, config.agents)
  await routeUnowned(openHub)
  const head = trackEventHead(openHub)
  const server = createInboxServer({
    config,
    hub: openHub,
    channels,
    auth: makeAgentAuth(token, config.agents),
    chatSecret,
    expectedReply: expectedReplyReader(openHub),
    eventHead: head.head
  })
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject)
      server.listen(config.port, config.host, () => {
        server.off("error", reject)
        resolve()
      })
    })
  } catch (error) {
    await head.close()
    await openHub.close()
    throw error
  }
  const address = server.address() as AddressInfo
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address
  let closing: Promise<void> | undefined
  return {
    hub: openHub,
    url: `http://${host}:${address.port}`,
    token,
    tokenFromDataDir: config.token === undefined,
    storage: opened.description,
    channels: channels.names,
    webhooks: channels.webhooks,
    close: () => {
      closing ??= (async () => {
        // Stop taking requests first, then the hub (which closes chat sockets and the store).
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()))
        server.closeAllConnections()
        await head.close()
        await openHub.close()
        await stopped
      })()
      return closing
    }
  }
}
