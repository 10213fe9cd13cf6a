import type { DialogiEvent } from "@dialogi/core"
import type { Connection } from "./connection.js"
import type { ChatFanOut } from "./fanOut.js"
import type { ChatRuntime } from "./runtime.js"

// After a failed read or a dropped stream: long enough not to spin against a store that is down.
const restartDelayMs = 1_000

/** A running follower; `stop` ends it and resolves once its stream is closed. */
export interface InstanceFollower {
  readonly stop: () => Promise<void>
}

interface Batch {
  /**
   * Conversations that got a public message, with the newest such event's seq: their open
   * sockets whose cursor is below it are pumped.
   */
  readonly conversations: Map<string, number>
  /** Conversations where the visitor now waits, or stopped waiting, for a reply. */
  readonly expectedReplyChanged: Set<string>
  /** Chat provider ids of visitor messages, with their conversation. */
  readonly visitorMessages: Array<{ readonly providerMessageId: string; readonly conversationId: string }>
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

const collect = (events: ReadonlyArray<DialogiEvent>, channel: string): Batch => {
  const batch: Batch = { conversations: new Map(), expectedReplyChanged: new Set(), visitorMessages: [] }
  for (const { seq, body } of events) {
    if (body._tag !== "message.received" && body._tag !== "message.queued") continue
    if (body.message.visibility !== "public") continue
    batch.conversations.set(
      body.conversationId,
      Math.max(seq, batch.conversations.get(body.conversationId) ?? 0)
    )
    batch.expectedReplyChanged.add(body.conversationId)
    const providerMessageId = body.message.providerMessageId
    if (
      body._tag === "message.received" &&
      body.message.channel === channel &&
      providerMessageId !== undefined
    )
      batch.visitorMessages.push({ providerMessageId, conversationId: body.conversationId })
  }
  return batch
}

/**
 * Brings this instance's sockets up to date with messages written anywhere. Every message
 * still reaches a socket only through its `pump` (history after the socket's cursor, one pump
 * at a time), so a socket that the writing instance's send, its own resume and this follower
 * all pump still gets each message once and in order; the follower only decides when.
 */
const deliver = (runtime: ChatRuntime, batch: Batch): void => {
  if (batch.conversations.size === 0) return
  // A visitor who wrote from a tab on another instance: their tabs here join that conversation
  // too, as the tabs on the writing instance do.
  for (const { providerMessageId, conversationId } of batch.visitorMessages) {
    const address = localAddressOf(runtime, providerMessageId)
    if (address !== undefined) runtime.learnConversation(address, conversationId)
  }
  const byConversation = new Map<string, Connection[]>()
  for (const connections of runtime.visitors.values())
    for (const connection of connections) {
      const id = connection.conversationId
      const newest = id === undefined ? undefined : batch.conversations.get(id)
      // A socket whose cursor is past the batch got these messages already (the sending
      // instance's own path, or its resume, was first): no history read for it.
      if (id === undefined || newest === undefined || connection.cursor >= newest) continue
      const list = byConversation.get(id)
      if (list) list.push(connection)
      else byConversation.set(id, [connection])
    }
  for (const [conversationId, connections] of byConversation) {
    for (const connection of connections)
      connection
        .pump()
        .catch((error: unknown) =>
          runtime.context?.log("warn", "[dialogi/chat] history unavailable for a live message", error)
        )
    if (batch.expectedReplyChanged.has(conversationId))
      void runtime.tellExpectedReply(conversationId, connections)
  }
}

/**
 * Follows the hub's event log from its head and pumps the sockets of this instance whose
 * conversation got a message, so a reply written on another instance reaches a visitor here
 * live. Events arriving together are handled as one batch (one pass over the sockets). After
 * a failure it starts again from the new head and pumps every socket once, which covers
 * whatever was written while it was not following.
 */
export const followInstances = (runtime: ChatRuntime, fanOut: ChatFanOut): InstanceFollower => {
  let stopped = false
  let subscription: { readonly close: () => void } | undefined
  let pending: DialogiEvent[] = []
  let flushScheduled = false
  let wakeRestart: (() => void) | undefined

  const flush = () => {
    flushScheduled = false
    const events = pending
    pending = []
    if (!stopped) deliver(runtime, collect(events, runtime.config.channel))
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
