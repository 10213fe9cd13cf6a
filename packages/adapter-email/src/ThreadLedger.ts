import type { KeyValueStore } from "./KeyValueStore.js"

/** What a reply needs to thread in the customer's mail program. */
export interface ThreadState {
  readonly subject: string
  /** The conversation's Message-IDs, oldest first; the last is the one a reply answers. */
  readonly references: ReadonlyArray<string>
}

// RFC 5322 3.6.4 lets References grow forever; mail programs thread on the first and the last
// few, and long headers get mail rejected, so keep the root plus the newest ones.
const maxReferences = 12

/**
 * Per-conversation mail headers, kept by the adapter because core hands `send` only the
 * conversation id. Recorded for every stored inbound mail and every sent reply.
 */
export const makeThreadLedger = (state: KeyValueStore) => {
  const key = (conversationId: string) => `thread:${conversationId}`
  const read = async (conversationId: string): Promise<ThreadState | undefined> => {
    const raw = await state.get(key(conversationId))
    return raw === undefined ? undefined : (JSON.parse(raw) as ThreadState)
  }
  // Records for one conversation are chained so concurrent ingests don't drop each other's ids.
  const chains = new Map<string, Promise<unknown>>()
  const record = (
    conversationId: string,
    messageId: string,
    subject: string,
    parents: ReadonlyArray<string> = []
  ) => {
    const next = (chains.get(conversationId) ?? Promise.resolve()).then(async () => {
      const current = await read(conversationId)
      const ids = [...(current?.references ?? parents), messageId].filter(
        (id, i, all) => all.indexOf(id) === i
      )
      const references = ids.length > maxReferences ? [ids[0]!, ...ids.slice(-(maxReferences - 1))] : ids
      await state.set(
        key(conversationId),
        JSON.stringify({ subject: current?.subject ?? subject, references })
      )
    })
    const settled = next.catch(() => undefined)
    chains.set(conversationId, settled)
    void settled.then(() => chains.get(conversationId) === settled && chains.delete(conversationId))
    return next
  }
  // A reply may be sent right after the hub committed the mail it answers, while that mail's
  // ids are still being written: wait for the writes of this conversation first.
  const get = async (conversationId: string): Promise<ThreadState | undefined> => {
    await chains.get(conversationId)
    return read(conversationId)
  }
  return { get, record }
}

/** @see makeThreadLedger */
export type ThreadLedger = ReturnType<typeof makeThreadLedger>
