import type { IncomingMessage, ServerResponse } from "node:http"
import { conversationOf, type DialogiHub } from "@dialogi/core"
import { baseHeaders } from "./httpExchange.ts"

/**
 * The newest event seq this process has seen. The inbox page takes it with the conversation
 * list and opens its event stream from there, so it neither misses a change made between the
 * two requests nor replays the whole log. Core has no "head of the log" query, so one
 * subscription from 0 catches up once at start (linear in the log) and then follows.
 */
export const trackEventHead = (hub: DialogiHub) => {
  let head = 0
  const subscription = hub.events.subscribe(0)
  const done = (async () => {
    try {
      for await (const event of subscription) head = event.seq
    } catch {
      // The store closed under the iteration at shutdown: nothing left to follow.
    }
  })()
  return {
    head: () => head,
    close: async () => {
      subscription.close()
      await done
    }
  }
}

const heartbeatMs = 15_000

/**
 * Server-sent events of the hub's log for the inbox page: `id` is the event seq, so a browser
 * that reconnects (a network drop, a server restart) sends Last-Event-ID and resumes exactly
 * there. Each event says only what changed; the page re-reads what it shows.
 */
export const streamEvents = (
  hub: DialogiHub,
  req: IncomingMessage,
  res: ServerResponse,
  after: number,
  presence?: AgentPresence
): void => {
  res.writeHead(200, {
    ...baseHeaders,
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-store",
    "x-accel-buffering": "no"
  })
  // A short retry: after a restart the page should be live again within a second or two.
  res.write("retry: 1000\n\n")
  const subscription = hub.events.subscribe(after)
  const heartbeat = setInterval(() => res.write(": keep-alive\n\n"), heartbeatMs)
  presence?.opened()
  let stopped = false
  const stop = () => {
    if (stopped) return
    stopped = true
    clearInterval(heartbeat)
    subscription.close()
    presence?.closed()
  }
  req.on("close", stop)
  void (async () => {
    try {
      for await (const event of subscription) {
        const change = {
          seq: event.seq,
          type: event.body._tag,
          conversationId: conversationOf(event.body) ?? null
        }
        res.write(`id: ${event.seq}\nevent: change\ndata: ${JSON.stringify(change)}\n\n`)
      }
    } catch {
      // Store closed (shutdown): end the stream; the browser reconnects to the next process.
    } finally {
      stop()
      res.end()
    }
  })()
}

/** The cursor to resume from: Last-Event-ID (browser reconnects) wins over `?after=`. */
export const resumeCursor = (req: IncomingMessage, query: URLSearchParams): number => {
  const raw = req.headers["last-event-id"] ?? query.get("after") ?? "0"
  const cursor = Number(Array.isArray(raw) ? raw[0] : raw)
  return Number.isSafeInteger(cursor) && cursor >= 0 ? cursor : 0
}

/** Counts open inbox pages: an agent is "online" while at least one inbox follows the log. */
export interface AgentPresence {
  readonly opened: () => void
  readonly closed: () => void
}

/**
 * Tells every chat widget "We're online" while some agent has the inbox open, and "We'll reply
 * as soon as we can" when the last one closes it.
 */
export const agentPresence = (setOnline: (online: boolean) => void): AgentPresence => {
  let open = 0
  return {
    opened: () => {
      open += 1
      if (open === 1) setOnline(true)
    },
    closed: () => {
      open -= 1
      if (open === 0) setOnline(false)
    }
  }
}
