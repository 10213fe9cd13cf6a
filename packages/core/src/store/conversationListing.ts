import type { Conversation } from "../domain/Conversation.js"
import type { ConversationFilter } from "./Store.js"

/**
 * The opaque cursor of a conversation in listings: newest activity first, id as tie-break.
 * Fixed-width so that plain string comparison orders it like the SQL stores' row comparison.
 */
export const conversationCursor = (c: Conversation): string =>
  `${String(c.lastMessageAt.getTime()).padStart(15, "0")}.${c.id}`

/** Decodes a cursor made by {@link conversationCursor}; undefined when malformed. */
export const parseConversationCursor = (cursor: string): { at: number; id: string } | undefined => {
  const match = /^(\d{15})\.(.+)$/.exec(cursor)
  return match ? { at: Number(match[1]), id: match[2]! } : undefined
}

/** Orders conversations as listings do: newest activity first. */
export const sortConversations = (items: ReadonlyArray<Conversation>): Conversation[] =>
  [...items].sort((a, b) => {
    const ca = conversationCursor(a)
    const cb = conversationCursor(b)
    return ca < cb ? 1 : ca > cb ? -1 : 0
  })

/** Whether a conversation passes a listing filter. */
export const matchesFilter = (
  c: Conversation,
  filter: ConversationFilter,
  channelsOf: (id: Conversation["id"]) => ReadonlySet<string>
): boolean => {
  if (filter.status !== undefined) {
    const statuses: ReadonlyArray<string> =
      typeof filter.status === "string" ? [filter.status] : filter.status
    if (!statuses.includes(c.status)) return false
  }
  if (filter.contactId !== undefined && c.contactId !== filter.contactId) return false
  if (filter.tag !== undefined && !c.tags.includes(filter.tag)) return false
  if (filter.assignee !== undefined) {
    const a = filter.assignee
    if (a._tag !== c.assignee._tag) return false
    if (a._tag !== "none" && c.assignee._tag !== "none" && a.id !== c.assignee.id) return false
  }
  if (filter.channel !== undefined && !channelsOf(c.id).has(filter.channel)) return false
  return true
}
