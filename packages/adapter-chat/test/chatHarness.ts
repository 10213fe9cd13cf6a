import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { createHub, type DialogiHub, type HubOptions, MemoryStore } from "@dialogi/core"
import { Effect } from "effect"
import { WebSocket } from "ws"
import {
  type ChatAdapter,
  type ChatAdapterConfig,
  createChatAdapter,
  hubHistory,
  type ServerFrame
} from "../src/index.js"

export const secret = "chat-test-secret-0123456789"

/** A hub on the memory store with the chat adapter attached to a real http server. */
export interface ChatRig {
  readonly hub: DialogiHub
  readonly chat: ChatAdapter
  readonly server: Server
  readonly url: string
  readonly close: () => Promise<void>
}

export const startRig = async (
  overrides: Partial<ChatAdapterConfig> | ((hub: () => DialogiHub) => Partial<ChatAdapterConfig>) = {},
  hubOptions: Pick<HubOptions, "sla" | "hooks"> = {}
): Promise<ChatRig> => {
  let hub: DialogiHub | undefined
  const extra = typeof overrides === "function" ? overrides(() => hub!) : overrides
  const chat = createChatAdapter({ secret, history: hubHistory(() => hub!), ...extra })
  const store = await Effect.runPromise(MemoryStore.makeMemoryStore())
  hub = await createHub({
    store,
    adapters: [chat],
    sendRetryDelayMs: 20,
    log: () => undefined,
    ...hubOptions
  })
  const server = createServer((_req, res) => res.writeHead(404).end())
  chat.attach(server)
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const port = (server.address() as AddressInfo).port
  const openHub = hub
  return {
    hub: openHub,
    chat,
    server,
    url: `ws://127.0.0.1:${port}/chat`,
    close: async () => {
      await openHub.close()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}

type Frame = ServerFrame & Record<string, unknown>

/** A real WebSocket client that records every frame and waits for the ones a test expects. */
export class TestClient {
  readonly frames: Frame[] = []
  private consumed = new Set<number>()
  private listeners = new Set<() => void>()
  readonly closed: Promise<{ code: number; reason: string }>

  private constructor(readonly socket: WebSocket) {
    socket.on("message", (data) => {
      this.frames.push(JSON.parse(data.toString()) as Frame)
      for (const listener of this.listeners) listener()
    })
    this.closed = new Promise((resolve) =>
      socket.on("close", (code, reason) => resolve({ code, reason: reason.toString() }))
    )
  }

  static connect(url: string, headers: Record<string, string> = {}): Promise<TestClient> {
    const socket = new WebSocket(url, { headers })
    const client = new TestClient(socket)
    return new Promise((resolve, reject) => {
      socket.once("open", () => resolve(client))
      socket.once("error", reject)
    })
  }

  send(frame: unknown): void {
    this.socket.send(typeof frame === "string" ? frame : JSON.stringify(frame))
  }

  /** The first frame not yet taken that matches; waits up to `timeoutMs`. */
  next<T extends Frame["type"]>(
    type: T,
    match: (frame: Extract<Frame, { type: T }>) => boolean = () => true,
    timeoutMs = 5_000
  ): Promise<Extract<Frame, { type: T }>> {
    return new Promise((resolve, reject) => {
      const look = () => {
        const index = this.frames.findIndex(
          (f, i) => !this.consumed.has(i) && f.type === type && match(f as Extract<Frame, { type: T }>)
        )
        if (index < 0) return false
        this.consumed.add(index)
        this.listeners.delete(look)
        clearTimeout(timer)
        resolve(this.frames[index] as Extract<Frame, { type: T }>)
        return true
      }
      const timer = setTimeout(() => {
        this.listeners.delete(look)
        reject(new Error(`no ${type} frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames)}`))
      }, timeoutMs)
      if (!look()) this.listeners.add(look)
    })
  }

  /** Every frame of a type received so far. */
  all<T extends Frame["type"]>(type: T): Array<Extract<Frame, { type: T }>> {
    return this.frames.filter((f) => f.type === type) as Array<Extract<Frame, { type: T }>>
  }

  close(): Promise<{ code: number; reason: string }> {
    this.socket.close()
    return this.closed
  }
}

/** Opens a socket and says hello; resolves with the client and its welcome frame. */
export const greet = async (url: string, hello: Record<string, unknown> = {}) => {
  const client = await TestClient.connect(url)
  client.send({ type: "hello", v: 1, cursor: 0, ...hello })
  const welcome = await client.next("welcome")
  return { client, welcome }
}

let counter = 0
/** A fresh client message id. */
export const clientId = (): string => `cid_${Date.now().toString(36)}_${(counter++).toString(36)}`
