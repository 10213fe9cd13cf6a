import type { IncomingMessage, Server } from "node:http"
import type { Duplex } from "node:stream"
import type { ChannelAdapter } from "@dialogi/core"
import { chatCapabilities } from "./capabilities.js"
import { type ChatAdapterConfig, resolveChatConfig } from "./config.js"
import { makeTokens } from "./identity.js"
import { ChatRuntime } from "./runtime.js"
import { sendToVisitor } from "./send.js"
import { makeSocketServer } from "./socketServer.js"
import { makeChatWebhook } from "./webhook.js"

/** The web chat adapter: a channel adapter plus the controls of its WebSocket server. */
export interface ChatAdapter extends ChannelAdapter {
  /** Serves the chat socket on a node http(s) server's `upgrade` event; returns a detach function. */
  readonly attach: (server: Pick<Server, "on" | "off" | "listenerCount">) => () => void
  /** For hosts that route upgrades themselves; returns false when the path is not the chat's. */
  readonly handleUpgrade: (request: IncomingMessage, socket: Duplex, head: Buffer) => boolean
  /** Shows or hides "agent is typing" in the visitor's open tabs (`to` is the chat address). */
  readonly setTyping: (to: string, on: boolean) => void
  /** Tells every open widget whether an agent is available. */
  readonly setAgentsOnline: (online: boolean) => void
  /** Refuses a visitor's sockets, posts and replies from now on, and closes their open tabs. */
  readonly block: (address: string) => void
  readonly unblock: (address: string) => void
  /** Open, greeted sockets. */
  readonly connectionCount: () => number
}

/**
 * Creates the web chat adapter. Give it to the hub and attach it to your http server:
 * `const chat = createChatAdapter({ secret, history: hubHistory(() => hub) }); chat.attach(server)`.
 */
export const createChatAdapter = (config: ChatAdapterConfig): ChatAdapter => {
  const resolved = resolveChatConfig(config)
  const runtime = new ChatRuntime(resolved, makeTokens(resolved.secret))
  const sockets = makeSocketServer(runtime)
  let stopOffline: (() => Promise<void>) | undefined
  return {
    channel: resolved.channel,
    capabilities: chatCapabilities(resolved.maxTextLength),
    addressKind: "opaque",
    start: async (context) => {
      runtime.context = context
      stopOffline = await resolved.offline?.start(context.log)
    },
    stop: async () => {
      await stopOffline?.()
      stopOffline = undefined
      await runtime.stop()
      sockets.close()
      runtime.context = undefined
    },
    send: (request) => sendToVisitor(runtime, request),
    handleWebhook: makeChatWebhook(runtime),
    attach: sockets.attach,
    handleUpgrade: sockets.handleUpgrade,
    setTyping: (to, on) => {
      for (const connection of runtime.connectionsOf(to)) connection.send({ type: "typing", on })
    },
    setAgentsOnline: (online) => {
      if (runtime.agentsOnline === online) return
      runtime.agentsOnline = online
      runtime.broadcast({ type: "presence", online })
    },
    block: (address) => {
      runtime.blocked.add(address)
      for (const connection of runtime.connectionsOf(address)) connection.close(4003, "blocked")
    },
    unblock: (address) => {
      runtime.blocked.delete(address)
    },
    connectionCount: () => [...runtime.visitors.values()].reduce((n, set) => n + set.size, 0)
  }
}
