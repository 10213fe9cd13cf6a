/**
 * Which dialogi conversation each Messenger address was last ingested into, and back, learnt
 * from the hub's ingest receipts. Thread-control events name a person, hub events name a
 * conversation; this joins the two without a store lookup. In memory: after a restart an
 * address is unknown until its next message (the hub bridge then falls back to the thread).
 */
export interface ConversationIndex {
  readonly note: (address: string, conversationId: string) => void
  readonly conversationOf: (address: string) => string | undefined
  readonly addressOf: (conversationId: string) => string | undefined
}

/** Creates the index (at most `limit` addresses, the least recently noted forgotten first). */
export const makeConversationIndex = (limit = 100_000): ConversationIndex => {
  const byAddress = new Map<string, string>()
  const byConversation = new Map<string, string>()
  return {
    note: (address, conversationId) => {
      const previous = byAddress.get(address)
      if (previous !== undefined && byConversation.get(previous) === address) byConversation.delete(previous)
      byAddress.delete(address)
      byAddress.set(address, conversationId)
      byConversation.set(conversationId, address)
      if (byAddress.size > limit) {
        const [oldest, conversation] = byAddress.entries().next().value ?? []
        if (oldest !== undefined) byAddress.delete(oldest)
        if (conversation !== undefined && byConversation.get(conversation) === oldest)
          byConversation.delete(conversation)
      }
    },
    conversationOf: (address) => byAddress.get(address),
    addressOf: (conversationId) => byConversation.get(conversationId)
  }
}
