import type { AdapterContext } from "@dialogi/core"
import type { ResolvedChatConfig } from "./config.js"
import type { Connection } from "./connection.js"
import type { ChatHistoryEntry } from "./history.js"
import type { Tokens } from "./identity.js"
import { followInstances, type InstanceFollower } from "./instanceFollower.js"
import type { ServerFrame } from "./protocol.js"

// A delivered receipt from a socket on another instance can come before the sending instance
// recorded the provider id; retries back off from 50 ms to 1.6 s (about 3 s in all).
const maxReceiptAttempts = 7

/** The state one chat adapter shares between its sockets, its webhook and `send`. */
export class ChatRuntime {
  /** Open, greeted connections by visitor address (a visitor may have many tabs). */
  readonly visitors = new Map<string, Set<Connection>>()
  /** Open sockets by the conversation they show, for the event follower. */
  private readonly byConversation = new Map<string, Set<Connection>>()
  /** Every open socket, greeted or not, so `stop` can close them all. */
  readonly sockets = new Set<Connection>()
  readonly blocked = new Set<string>()
  agentsOnline = false
  context: AdapterContext | undefined
  private follower: InstanceFollower | undefined

  constructor(
    readonly config: ResolvedChatConfig,
    readonly tokens: Tokens
  ) {}

  register(connection: Connection, address: string): void {
    let set = this.visitors.get(address)
    if (!set) {
      set = new Set()
      this.visitors.set(address, set)
    }
    set.add(connection)
    // Following other instances matters only while this one has sockets; starting at the first
    // greeted one also means the hub that `fanOut` reads has finished starting.
    if (this.follower === undefined && this.config.fanOut !== undefined && this.context !== undefined)
      this.follower = followInstances(this, this.config.fanOut)
  }

  /** Whether this adapter follows the hub's event log (`fanOut`), which then delivers every message. */
  get followsLog(): boolean {
    return this.follower !== undefined
  }

  /** Stops following other instances (at adapter stop). */
  async stop(): Promise<void> {
    const follower = this.follower
    this.follower = undefined
    await follower?.stop()
  }

  /** Keeps the index by conversation when a socket switches (or first gets) its conversation. */
  conversationChanged(connection: Connection, previous: string | undefined): void {
    if (previous !== undefined) this.forget(connection, previous)
    const id = connection.conversationId
    if (id === undefined || !this.sockets.has(connection)) return
    let set = this.byConversation.get(id)
    if (!set) {
      set = new Set()
      this.byConversation.set(id, set)
    }
    set.add(connection)
  }

  /** Open sockets showing a conversation. */
  connectionsOn(conversationId: string): ReadonlySet<Connection> | undefined {
    return this.byConversation.get(conversationId)
  }

  private forget(connection: Connection, conversationId: string): void {
    const set = this.byConversation.get(conversationId)
    set?.delete(connection)
    if (set?.size === 0) this.byConversation.delete(conversationId)
  }

  unregister(connection: Connection): void {
    this.sockets.delete(connection)
    if (connection.conversationId !== undefined) this.forget(connection, connection.conversationId)
    const address = connection.visitor?.address
    if (address === undefined) return
    const set = this.visitors.get(address)
    set?.delete(connection)
    if (set?.size === 0) this.visitors.delete(address)
  }

  connectionsOf(address: string): ReadonlyArray<Connection> {
    return [...(this.visitors.get(address) ?? [])]
  }

  /** The conversation another open tab of the visitor already knows, if any. */
  knownConversation(address: string): string | undefined {
    for (const connection of this.visitors.get(address) ?? [])
      if (connection.conversationId !== undefined) return connection.conversationId
    return undefined
  }

  /** Points every open tab of a visitor at their current conversation, with its proof. */
  learnConversation(address: string, conversationId: string): void {
    for (const connection of this.visitors.get(address) ?? []) connection.useConversation(conversationId)
  }

  /** Brings every open tab of a visitor up to date; resolves with whether each one is. */
  pumpVisitor(address: string): Promise<ReadonlyArray<PromiseSettledResult<boolean>>> {
    return Promise.allSettled(this.connectionsOf(address).map((connection) => connection.pump()))
  }

  /**
   * Tells the visitor's tabs on a conversation when a reply is due. Called where the answer
   * may change (hello, a stored visitor message, an agent reply); a failed read only costs the
   * line in the widget, so it is logged, never surfaced.
   */
  async tellExpectedReply(conversationId: string, connections: ReadonlyArray<Connection>): Promise<void> {
    const read = this.config.expectedReply
    if (read === undefined || connections.length === 0) return
    try {
      const dueAt = (await read(conversationId)) ?? null
      for (const connection of connections)
        if (connection.conversationId === conversationId) connection.send({ type: "expected_reply", dueAt })
    } catch (error) {
      this.context?.log("debug", `[dialogi/chat] expected reply time of ${conversationId} unavailable`, error)
    }
  }

  broadcast(frame: ServerFrame): void {
    for (const set of this.visitors.values()) for (const connection of set) connection.send(frame)
  }

  /**
   * Reports an agent message as delivered once a socket took it. A live reply reaches the
   * socket before the hub has marked it sent (the hub records the provider id only after
   * `send` returns, and ignores a receipt's status), and a socket on another instance may take
   * it before the sending instance's `send` returned, so a report that finds no message yet is
   * retried with backoff.
   */
  delivered(entry: ChatHistoryEntry): void {
    if (entry.message.direction !== "outbound" || entry.message.channel !== this.config.channel) return
    this.status(entry.message.id, "delivered")
  }

  status(messageId: string, status: "delivered" | "read", attempt = 0): void {
    const context = this.context
    if (!context) return
    context
      .updateStatus({
        channel: this.config.channel,
        providerMessageId: messageId,
        status: { _tag: status },
        at: Date.now()
      })
      .catch((error: unknown) => {
        if ((error as { _tag?: unknown })._tag === "NotFound" && attempt < maxReceiptAttempts - 1) {
          setTimeout(() => this.status(messageId, status, attempt + 1), 50 * 2 ** attempt).unref()
          return
        }
        context.log("debug", `[dialogi/chat] ${status} receipt for ${messageId} not applied`, error)
      })
  }
}
