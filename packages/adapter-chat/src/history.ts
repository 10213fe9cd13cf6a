import type { DialogiEvent, Message } from "@dialogi/core"

/** One message of a conversation with the event-log position (`seq`) that created it. */
export interface ChatHistoryEntry {
  readonly seq: number
  readonly message: Pick<
    Message,
    "id" | "direction" | "author" | "channel" | "parts" | "visibility" | "sentAt"
  > & {
    readonly providerMessageId?: string | undefined
  }
}

/**
 * Reads the messages of a conversation created after event `after`, oldest first. The cursor
 * is the hub's global event sequence: events are appended in commit order, so "everything
 * after seq N" never skips a message that committed late, which a position in the thread or
 * a timestamp could.
 */
export type ChatHistory = (query: {
  readonly conversationId: string
  readonly after: number
}) => Promise<ReadonlyArray<ChatHistoryEntry>>

/**
 * The history entry an event of the hub's log stands for, with its conversation: a public
 * message written or queued. {@link hubHistory} reads these, and the adapter's event follower
 * (`fanOut`) sends the same entries straight to sockets, so both must agree on what counts.
 */
export const historyEntryOf = (
  event: DialogiEvent
): { readonly conversationId: string; readonly entry: ChatHistoryEntry } | undefined => {
  const body = event.body
  if (body._tag !== "message.received" && body._tag !== "message.queued") return undefined
  if (body.message.visibility !== "public") return undefined
  return { conversationId: body.conversationId, entry: { seq: event.seq, message: body.message } }
}

/** The part of the hub that {@link hubHistory} reads (core's `hub.events.after`). */
export interface HubEventReader {
  readonly events: {
    readonly after: (
      cursor: number,
      query: { readonly conversationId: string; readonly limit: number }
    ) => Promise<ReadonlyArray<DialogiEvent>>
  }
}

/**
 * A {@link ChatHistory} over the hub's event log. It pages through the conversation's own
 * events after the cursor (core reads them through the store's per-conversation index), so a
 * new visitor's cursor of 0 costs their thread, not the whole log, however busy the hub is.
 * `hub` may be a function so the adapter can be created before the hub that uses it.
 */
export const hubHistory = (hub: HubEventReader | (() => HubEventReader), pageSize = 1_000): ChatHistory => {
  // Core returns at most 5,000 events a call; a larger page would read as the end of the log.
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 5_000)
    throw new Error("[dialogi/chat] hubHistory pageSize must be an integer from 1 to 5,000")
  return async ({ conversationId, after }) => {
    const reader = typeof hub === "function" ? hub() : hub
    const entries: ChatHistoryEntry[] = []
    let cursor = after
    for (;;) {
      const page = await reader.events.after(cursor, { conversationId, limit: pageSize })
      for (const event of page) {
        const entry = historyEntryOf(event)
        if (entry !== undefined && entry.conversationId === conversationId) entries.push(entry.entry)
      }
      if (page.length < pageSize) return entries
      cursor = page[page.length - 1]!.seq
    }
  }
}
