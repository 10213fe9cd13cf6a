import type { IncomingMessage, Server } from "node:http"
import type { Duplex } from "node:stream"
import { WebSocketServer } from "ws"
import { Connection } from "./connection.js"
import type { ChatRuntime } from "./runtime.js"

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

  const startHeartbeat = () => {
    if (heartbeat) return
    heartbeat = setInterval(() => {
      for (const connection of runtime.sockets) {
        // No pong since the last ping: the peer is gone without a close (a laptop lid, a
        // dropped mobile link). terminate() frees the socket now instead of after TCP timeouts.
        if (!connection.alive) {
          connection.socket.terminate()
          continue
        }
        connection.alive = false
        connection.socket.ping()
      }
    }, config.heartbeatMs)
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
      for (const connection of [...runtime.sockets]) connection.close(1001, "server shutting down")
      runtime.sockets.clear()
      runtime.visitors.clear()
    }
  }
}
