import type { IncomingMessage, Server } from "node:http"
import type { Duplex } from "node:stream"
import { WebSocketServer } from "ws"
import { Connection } from "./connection.js"
import type { ChatRuntime } from "./runtime.js"

// A heartbeat round is spread over this many ticks, none shorter than the minimum.
const heartbeatTicksPerRound = 100
const minHeartbeatTickMs = 10

const refuse = (socket: Duplex, status: number, text: string) => {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
}

/** The WebSocket side of the adapter: upgrade checks, heartbeats, shutdown. */
export const makeSocketServer = (runtime: ChatRuntime) => {
  const { config } = runtime
  // noServer: the upgrade is checked (path, Origin) before ws touches the socket.
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: config.maxPayloadBytes,
    clientTracking: false,
    perMessageDeflate: false
  })
  let heartbeat: ReturnType<typeof setInterval> | undefined
  // Each socket is checked once per heartbeatMs, but the round is spread over many small ticks:
  // pinging 10,000 sockets at once is 10,000 writes in one go, a stall of a few hundred
  // milliseconds that every message arriving meanwhile would wait for.
  const tickMs = Math.max(minHeartbeatTickMs, Math.floor(config.heartbeatMs / heartbeatTicksPerRound))
  let round: Connection[] = []
  let roundStart = 0
  let position = 0

  const check = (connection: Connection) => {
    if (!runtime.sockets.has(connection)) return
    // No pong since the last ping: the peer is gone without a close (a laptop lid, a
    // dropped mobile link). terminate() frees the socket now instead of after TCP timeouts.
    if (!connection.alive) {
      connection.socket.terminate()
      return
    }
    connection.alive = false
    connection.socket.ping()
  }

  const startHeartbeat = () => {
    if (heartbeat) return
    roundStart = Date.now()
    heartbeat = setInterval(() => {
      const elapsed = Date.now() - roundStart
      if (elapsed >= config.heartbeatMs) {
        // Whatever this round has not reached yet (a late timer) is checked now; then sockets
        // opened since the round began join the next one.
        for (; position < round.length; position++) check(round[position]!)
        round = [...runtime.sockets]
        roundStart = Date.now()
        position = 0
        return
      }
      // The share of the round that should be done by now.
      const due = Math.min(round.length, Math.ceil((round.length * (elapsed + tickMs)) / config.heartbeatMs))
      for (; position < due; position++) check(round[position]!)
    }, tickMs)
    heartbeat.unref()
  }

  /** Handles one upgrade request for the chat path; other paths are left alone. */
  const handleUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): boolean => {
    const url = new URL(request.url ?? "/", "http://localhost")
    if (url.pathname !== config.path) return false
    const origin = request.headers.origin
    if (config.allowedOrigins && (origin === undefined || !config.allowedOrigins.includes(origin))) {
      refuse(socket, 403, "Forbidden")
      return true
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      const connection = new Connection(ws, runtime)
      runtime.sockets.add(connection)
      startHeartbeat()
    })
    return true
  }

  return {
    handleUpgrade,
    /** Listens on a node http(s) server's `upgrade` event; returns a function that detaches. */
    attach: (server: Pick<Server, "on" | "off" | "listenerCount">): (() => void) => {
      const listener = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
        // Another upgrade listener (a dev server's HMR socket) may own other paths; answer
        // 404 only when nobody else could.
        if (!handleUpgrade(request, socket, head) && server.listenerCount("upgrade") === 1)
          refuse(socket, 404, "Not Found")
      }
      server.on("upgrade", listener)
      return () => server.off("upgrade", listener)
    },
    close: () => {
      if (heartbeat) clearInterval(heartbeat)
      heartbeat = undefined
      round = []
      position = 0
      for (const connection of [...runtime.sockets]) connection.close(1001, "server shutting down")
      runtime.sockets.clear()
      runtime.visitors.clear()
    }
  }
}
