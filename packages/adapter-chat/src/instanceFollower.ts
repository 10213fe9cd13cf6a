import type { DialogiEvent } from "@dialogi/core"
import type { Connection } from "./connection.js"
import type { ChatFanOut } from "./fanOut.js"
import { historyEntryOf } from "./history.js"
import type { ChatRuntime } from "./runtime.js"

// After a failed read or a dropped stream: long enough not to spin against a store that is down.
const restartDelayMs = 1_000

/** A running follower; `stop` ends it and resolves once its stream is closed. */
export interface InstanceFollower {
  readonly stop: () => Promise<void>
}

// Conversations whose newest message the follower remembers; past this, the oldest is
// forgotten and the floor rises (see LogPositions): a bounded map for a long-running instance.
const maxRemembered = 100_000

/**
 * Where each conversation's newest shown message is in the log, as far as the follower has
 * seen it. The follower reads every event after the seq it started at, in order, so for a
 * conversation it saw a message of, that message is exactly the one before the next; for any
 * other, nothing of it came after the floor. A conversation opened while following had no
 * message before its `conversation.opened` event.
 */
class LogPositions {
  private readonly newest = new Map<string, number>()
  private position: number

  constructor(private floor: number) {
    this.position = floor
  }

  /** The seq of the conversation's last message before now, or a seq after it. */
  previous(conversationId: string): number {
    return this.newest.get(conversationId) ?? this.floor
  }

  /** Records one event of the log, in order. */
  saw(seq: number): void {
    this.position = seq
  }

  opened(conversationId: string): void {
    if (!this.newest.has(conversationId)) this.remember(conversationId, 0)
  }

  message(conversationId: string, seq: number): void {
    this.remember(conversationId, seq)
  }

  private remember(conversationId: string, seq: number): void {
    this.newest.delete(conversationId)
    this.newest.set(conversationId, seq)
    if (this.newest.size <= maxRemembered) return
    // A forgotten conversation's newest message is at or before the current position; so is
    // that of every conversation not remembered, so one floor covers them all.
    this.newest.delete(this.newest.keys().next().value!)
    this.floor = this.position
  }
}

/**
 * The chat address inside a chat provider id (`<address>/<clientId>`) if that address has
 * sockets here. Addresses of signed users may themselves contain "/", so every prefix is tried.
 */
const localAddressOf = (runtime: ChatRuntime, providerMessageId: string): string | undefined => {
  for (
    let slash = providerMessageId.indexOf("/");
    slash > 0;
    slash = providerMessageId.indexOf("/", slash + 1)
  ) {
    const address = providerMessageId.slice(0, slash)
    if (runtime.visitors.has(address)) return address
  }
  return undefined
}

/**
 * Brings this instance's sockets up to date with messages written anywhere, the visitor's own
 * included (their echo). A socket whose cursor is at the conversation's previous message takes
 * the next one straight from the event; one that is behind (it resumed from an older cursor,
 * or the follower cannot prove nothing is missing) is pumped: a history read after its cursor.
 * Both paths send only messages after the cursor and advance it, so every message reaches a
 * socket once and in order, whichever path, its own resume or another pump, comes first.
 */
const deliver = (
  runtime: ChatRuntime,
  events: ReadonlyArray<DialogiEvent>,
  positions: LogPositions
): void => {
  const channel = runtime.config.channel
  const touched = new Set<string>()
  for (const event of events) {
    const found = historyEntryOf(event)
    if (found === undefined) continue
    touched.add(found.conversationId)
    // A visitor who wrote from a tab on another instance (or whose first message opened the
    // conversation): their tabs here join that conversation too.
    const providerMessageId = found.entry.message.providerMessageId
    if (
      event.body._tag === "message.received" &&
      found.entry.message.channel === channel &&
      providerMessageId !== undefined
    ) {
      const address = localAddressOf(runtime, providerMessageId)
      if (address !== undefined) runtime.learnConversation(address, found.conversationId)
    }
  }
  // Copies: a send below can close a socket (too far behind), which leaves the index.
  const byConversation = new Map<string, Connection[]>()
  for (const id of touched) {
    const connections = runtime.connectionsOn(id)
    if (connections !== undefined) byConversation.set(id, [...connections])
  }
  const behind = new Set<Connection>()
  for (const event of events) {
    positions.saw(event.seq)
    if (event.body._tag === "conversation.opened") positions.opened(event.body.conversationId)
    const found = historyEntryOf(event)
    if (found === undefined || !runtime.config.shows(found.entry)) continue
    const { conversationId, entry } = found
    const previous = positions.previous(conversationId)
    positions.message(conversationId, entry.seq)
    for (const connection of byConversation.get(conversationId) ?? [])
      if (!behind.has(connection) && connection.offer(conversationId, entry, previous) === "behind")
        behind.add(connection)
  }
  for (const connection of behind)
    connection
      .pump()
      .catch((error: unknown) =>
        runtime.context?.log("warn", "[dialogi/chat] history unavailable for a live message", error)
      )
  // Every public message may change when a reply is due: one read per conversation and batch.
  for (const [conversationId, connections] of byConversation)
    void runtime.tellExpectedReply(conversationId, connections)
}

/**
 * Follows the hub's event log from its head and brings the sockets of this instance whose
 * conversation got a message up to date (see `deliver`), so a reply written on another
 * instance reaches a visitor here live and a visitor's own message comes back without a
 * history read. Events arriving together are handled as one batch (one pass over the
 * sockets). After a failure it starts again from the new head, forgets what it knew of the
 * log, and pumps every socket once, which covers whatever was written while it was not
 * following.
 */
export const followInstances = (runtime: ChatRuntime, fanOut: ChatFanOut): InstanceFollower => {
  let stopped = false
  let subscription: { readonly close: () => void } | undefined
  let pending: DialogiEvent[] = []
  let positions = new LogPositions(0)
  let flushScheduled = false
  let wakeRestart: (() => void) | undefined

  const flush = () => {
    flushScheduled = false
    const events = pending
    pending = []
    if (!stopped) deliver(runtime, events, positions)
  }

  const pumpEverySocket = () => {
    for (const connections of runtime.visitors.values())
      for (const connection of connections)
        connection
          .pump()
          .catch((error: unknown) =>
            runtime.context?.log("warn", "[dialogi/chat] history unavailable while catching up", error)
          )
  }

  const done = (async () => {
    while (!stopped) {
      try {
        const head = await fanOut.head()
        if (stopped) return
        const stream = fanOut.subscribe(head)
        subscription = stream
        // Events queued from the previous stream belong to positions that are now unknown.
        pending = []
        positions = new LogPositions(head)
        // A socket may have read its history before `head`: one pump each closes that gap.
        pumpEverySocket()
        for await (const event of stream) {
          pending.push(event)
          if (!flushScheduled) {
            flushScheduled = true
            // The stream hands over a page event by event: collect the page, then deliver.
            setImmediate(flush)
          }
        }
        if (stopped) return
        runtime.context?.log("warn", "[dialogi/chat] the hub's event stream ended; following again")
      } catch (error) {
        if (stopped) return
        runtime.context?.log("warn", "[dialogi/chat] following other instances failed; retrying", error)
      }
      subscription = undefined
      await new Promise<void>((resolve) => {
        wakeRestart = resolve
        setTimeout(resolve, restartDelayMs).unref()
      })
      wakeRestart = undefined
    }
  })()

  return {
    stop: async () => {
      stopped = true
      subscription?.close()
      wakeRestart?.()
      await done
    }
  }
}
