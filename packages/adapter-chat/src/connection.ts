import type { Duplex } from "node:stream"
import type { WebSocket } from "ws"
import type { ChatHistoryEntry } from "./history.js"
import type { Visitor } from "./identity.js"
import { IngestRefused, ingestVisitorMessage } from "./inbound.js"
import { parseClientFrame } from "./parse.js"
import { type ClientFrame, protocolVersion, type ServerFrame } from "./protocol.js"
import { TokenBucket } from "./rateLimit.js"
import { messageFrame } from "./render.js"
import type { ChatRuntime } from "./runtime.js"

// Close codes in the private range (4000-4999) say why the server hung up.
const closeUnsupported = 4000
const closeForbidden = 4003
// A connection that keeps sending after being told to slow down is not a widget.
const maxViolations = 20
// Outbound messages remembered per socket for read receipts.
const maxUnread = 500

// A visitor's own message comes back to their tabs (the echo, with its `seq`) through a history
// read. The acks of one group commit start as many of those reads at once, and in the store's
// connection pool they queued ahead of the next ingest transaction: at 10,000 sockets and 1,000
// msgs/s a transaction waited p99 427 ms for a connection, with 256 callers ahead of it. The echo
// is the least urgent read (the ack already told the widget the message is stored), so an
// adapter runs at most this many at once: with the default pool of 10 that leaves ingest and the
// event stream their connections. Measured at that load: 8 gave delivered p99 375-512 ms and
// echoes p50 0.7-0.9 s; 4 starved the echoes (p50 5.9 s), 16 filled the pool again.
const maxEchoReads = 8

/** Runs a visitor's echo reads a few at a time; one waiting echo covers later messages too. */
class Echoes {
  private running = 0
  private readonly queue: Array<() => void> = []
  /** Visitors whose echo waits for a slot: it reads after their newest message, so one is enough. */
  private readonly waiting = new Set<string>()

  async echo(address: string, read: () => Promise<unknown>): Promise<void> {
    if (this.waiting.has(address)) return
    if (this.running >= maxEchoReads) {
      this.waiting.add(address)
      await new Promise<void>((resolve) => this.queue.push(resolve))
      this.waiting.delete(address)
    } else this.running += 1
    try {
      await read()
    } finally {
      // Hands the slot straight to the next echo, or frees it.
      const next = this.queue.shift()
      if (next) next()
      else this.running -= 1
    }
  }
}

const echoes = new WeakMap<ChatRuntime, Echoes>()
const echoesOf = (runtime: ChatRuntime): Echoes => {
  let found = echoes.get(runtime)
  if (found === undefined) {
    found = new Echoes()
    echoes.set(runtime, found)
  }
  return found
}

/**
 * One visitor socket: greets with hello, stores messages through the hub and acks them after
 * commit, and keeps the widget in step with the conversation through its cursor. A message
 * reaches a socket through `pump`, which reads history after the socket's cursor and advances
 * it (pumps run one at a time), or through `offer` from the event follower when the cursor
 * proves nothing is missing before it; both send only what is after the cursor, so a message
 * is sent to a socket at most once and in order.
 */
export class Connection {
  visitor: Visitor | undefined
  private conversation: string | undefined
  /** Event seq of the last message this socket was sent. */
  cursor = 0
  alive = true
  private readonly frames: TokenBucket
  private readonly messages: TokenBucket
  private violations = 0
  private closed = false
  /** Frames sent in this tick wait in the TCP socket until the next one (see `coalesce`). */
  private corked = false
  private pumping: Promise<unknown> = Promise.resolve()
  private readonly unread = new Map<number, string>()

  constructor(
    readonly socket: WebSocket,
    private readonly runtime: ChatRuntime
  ) {
    this.frames = new TokenBucket(runtime.config.frameRate)
    this.messages = new TokenBucket(runtime.config.messageRate)
    socket.on("message", (data, isBinary) => {
      if (isBinary) this.error("bad_frame", "frames are JSON text")
      else this.receive(data.toString())
    })
    socket.on("pong", () => {
      this.alive = true
    })
    socket.on("close", () => {
      this.closed = true
      runtime.unregister(this)
    })
    // ws reports oversized frames and protocol errors here and closes the socket itself (1009,
    // 1002); without a listener the error would crash the process.
    socket.on("error", () => undefined)
  }

  /**
   * Sends one frame, unless the socket is too far behind: then it is dropped, and the widget
   * reconnects and resumes from its cursor, so nothing is lost by dropping it.
   */
  send(frame: ServerFrame): boolean {
    if (this.closed || this.socket.readyState !== this.socket.OPEN) return false
    if (this.socket.bufferedAmount > this.runtime.config.maxBufferedBytes) {
      this.closed = true
      this.socket.terminate()
      return false
    }
    this.coalesce()
    this.socket.send(JSON.stringify(frame))
    return true
  }

  /**
   * Holds this tick's frames in the TCP socket and lets them go in one write on the next tick.
   * An ack with its conversation frame, or a page of history, then costs one system call
   * instead of one each, which under load is a large part of the server's CPU.
   */
  private coalesce(): void {
    if (this.corked) return
    // ws keeps its TCP socket in `_socket` (undocumented but stable since ws 1); without it
    // every frame simply goes out on its own.
    const tcp = (this.socket as unknown as { _socket?: Duplex })._socket
    if (!tcp || tcp.destroyed) return
    this.corked = true
    tcp.cork()
    process.nextTick(() => {
      this.corked = false
      tcp.uncork()
    })
  }

  /** The conversation this socket shows; the runtime indexes its sockets by it. */
  get conversationId(): string | undefined {
    return this.conversation
  }

  set conversationId(conversationId: string | undefined) {
    if (conversationId === this.conversation) return
    const previous = this.conversation
    this.conversation = conversationId
    this.runtime.conversationChanged(this, previous)
  }

  close(code: number, reason: string): void {
    this.closed = true
    this.socket.close(code, reason)
  }

  /** Switches the socket to a conversation and hands the widget the proof that it is theirs. */
  useConversation(conversationId: string): void {
    if (!this.visitor || this.conversationId === conversationId) return
    this.conversationId = conversationId
    const binding = this.runtime.tokens.bindConversation(this.visitor.address, conversationId)
    this.send({ type: "conversation", id: binding.id, token: binding.token })
  }

  /** Sends every message after the cursor; resolves true when the socket is up to date. */
  pump(): Promise<boolean> {
    const run = this.pumping.then(() => this.pumpOnce())
    this.pumping = run.catch(() => undefined)
    return run
  }

  private async pumpOnce(): Promise<boolean> {
    const conversationId = this.conversationId
    const visitor = this.visitor
    if (conversationId === undefined || visitor === undefined || this.closed) return false
    const entries = await this.runtime.config.history({ conversationId, after: this.cursor })
    for (const entry of [...entries].sort((a, b) => a.seq - b.seq)) {
      if (entry.seq <= this.cursor) continue
      if (!this.take(entry, visitor.address)) return false
    }
    return true
  }

  /**
   * Offers a message the adapter's event follower saw: `previous` is the seq of the
   * conversation's message before it, or a seq at or after it (the follower knows the log only
   * from where it started following). The socket takes it without a history read when its
   * cursor is at or past `previous`, which proves nothing between its cursor and the message is
   * missing; "behind" means only a `pump` can bring it. A pump in flight cannot duplicate it: it
   * skips every entry at or below the cursor, and this runs between its sends, never inside.
   */
  offer(conversationId: string, entry: ChatHistoryEntry, previous: number): "taken" | "has" | "behind" {
    const visitor = this.visitor
    if (visitor === undefined || this.closed || this.conversationId !== conversationId) return "has"
    if (entry.seq <= this.cursor) return "has"
    if (this.cursor < previous) return "behind"
    return this.take(entry, visitor.address) ? "taken" : "has"
  }

  /** Sends the next message and moves the cursor to it; false when the socket is gone. */
  private take(entry: ChatHistoryEntry, address: string): boolean {
    if (!this.send(messageFrame(entry, address))) return false
    this.cursor = entry.seq
    if (entry.message.direction === "outbound") {
      this.unread.set(entry.seq, entry.message.id)
      if (this.unread.size > maxUnread) this.unread.delete(this.unread.keys().next().value!)
      this.runtime.delivered(entry)
    }
    return true
  }

  private error(
    code: Extract<ServerFrame, { type: "error" }>["code"],
    message: string,
    extra: { ref?: string; retryAfterMs?: number } = {}
  ): void {
    this.send({ type: "error", code, message: `[dialogi/chat] ${message}`, ...extra })
  }

  private receive(data: string): void {
    const wait = this.frames.take()
    if (wait > 0) {
      this.violations += 1
      if (this.violations > maxViolations) {
        this.close(1008, "rate limit exceeded")
        return
      }
      this.error("rate_limited", "too many frames, slow down", { retryAfterMs: wait })
      return
    }
    const parsed = parseClientFrame(data)
    if (parsed._tag === "invalid") {
      this.error("bad_frame", `not a protocol frame: ${parsed.reason}`)
      return
    }
    const frame = parsed.frame
    if (frame.type === "hello") {
      this.hello(frame)
      return
    }
    if (frame.type === "ping") {
      this.send({ type: "pong" })
      return
    }
    if (!this.visitor) {
      this.error("not_ready", "send hello first")
      return
    }
    switch (frame.type) {
      case "message":
        void this.message(frame.id, frame.text)
        return
      case "typing":
        this.runtime.config.onTyping?.({
          address: this.visitor.address,
          conversationId: this.conversationId,
          on: frame.on
        })
        return
      case "read":
        for (const [seq, messageId] of this.unread)
          if (seq <= frame.seq) {
            this.unread.delete(seq)
            this.runtime.status(messageId, "read")
          }
        return
    }
  }

  private hello(frame: Extract<ClientFrame, { type: "hello" }>): void {
    if (frame.v !== protocolVersion) {
      this.error(
        "unsupported_version",
        `protocol version ${frame.v} is not supported; this server speaks ${protocolVersion}`
      )
      this.close(closeUnsupported, "unsupported protocol version")
      return
    }
    if (this.visitor) {
      this.error("bad_frame", "hello was already received on this connection")
      return
    }
    const { visitor, problem } = this.runtime.tokens.visitorOf(frame.visitor, frame.identity)
    if (problem === "bad_identity") {
      this.error(
        "bad_identity",
        "the identity signature does not match; sign it on your server with signIdentity"
      )
      this.close(closeForbidden, "identity signature mismatch")
      return
    }
    if (this.runtime.blocked.has(visitor.address)) {
      this.error("blocked", "this visitor cannot chat")
      this.close(closeForbidden, "blocked")
      return
    }
    if (problem === "bad_visitor")
      this.error("bad_visitor", "unknown visitor token; starting as a new visitor")
    this.visitor = visitor
    this.runtime.register(this, visitor.address)
    if (frame.conversation !== undefined) {
      if (this.runtime.tokens.checkConversation(visitor.address, frame.conversation))
        this.conversationId = frame.conversation.id
      else this.error("bad_conversation", "that conversation does not belong to this visitor")
    }
    this.conversationId ??= this.runtime.knownConversation(visitor.address)
    this.cursor = this.conversationId === undefined ? 0 : frame.cursor
    const binding =
      this.conversationId === undefined
        ? undefined
        : this.runtime.tokens.bindConversation(visitor.address, this.conversationId)
    this.send({
      type: "welcome",
      v: protocolVersion,
      visitor: visitor.token,
      verified: visitor.verified,
      ...(binding === undefined ? {} : { conversation: binding }),
      agentsOnline: this.runtime.agentsOnline
    })
    this.pump().catch((error: unknown) =>
      this.runtime.context?.log("warn", "[dialogi/chat] history unavailable on resume", error)
    )
    if (this.conversationId !== undefined) void this.runtime.tellExpectedReply(this.conversationId, [this])
  }

  private async message(clientId: string, raw: string): Promise<void> {
    const visitor = this.visitor!
    const wait = this.messages.take()
    if (wait > 0)
      return this.error("rate_limited", "too many messages, wait before sending again", {
        ref: clientId,
        retryAfterMs: wait
      })
    const text = raw.trim()
    if (text.length === 0) return this.error("invalid", "empty message", { ref: clientId })
    if (text.length > this.runtime.config.maxTextLength)
      return this.error(
        "too_long",
        `messages are limited to ${this.runtime.config.maxTextLength} characters`,
        {
          ref: clientId
        }
      )
    try {
      const receipt = await ingestVisitorMessage(
        this.runtime.context,
        this.runtime.config.channel,
        visitor,
        clientId,
        text,
        Date.now()
      )
      this.send({
        type: "ack",
        id: clientId,
        messageId: receipt.messageId,
        conversationId: receipt.conversationId,
        duplicate: receipt.duplicate
      })
      this.runtime.learnConversation(visitor.address, receipt.conversationId)
      // While the adapter follows the hub's event log, the follower brings the message back to
      // the visitor's tabs (the echo, with its seq) and tells them when a reply is due, from the
      // event itself; reading history here as well would cost a query per message for nothing.
      if (this.runtime.followsLog) return
      void this.runtime.tellExpectedReply(receipt.conversationId, this.runtime.connectionsOf(visitor.address))
      await echoesOf(this.runtime).echo(visitor.address, () => this.runtime.pumpVisitor(visitor.address))
    } catch (error) {
      if (error instanceof IngestRefused)
        return this.error(error.code, error.message.replace("[dialogi/chat] ", ""), {
          ref: clientId,
          ...(error.code === "unavailable" ? { retryAfterMs: 2_000 } : {})
        })
      this.runtime.context?.log("error", "[dialogi/chat] unexpected failure handling a message", error)
      this.error("unavailable", "message not stored, send it again later", {
        ref: clientId,
        retryAfterMs: 2_000
      })
    }
  }
}
