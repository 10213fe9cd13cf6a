/**
 * The provider ids of messages this process already handed to the hub with a final answer
 * (stored, or vetoed by an ingest hook). Meta retries a whole batch when any event of it
 * failed; skipping the ones already handled keeps the hub's ingest hooks from running twice
 * for them (a veto recorded twice, a hook's side effects repeated). In memory: a retry that
 * reaches another instance or a restarted one is still deduped by the hub, hooks included.
 */
export interface HandledMessages {
  readonly has: (providerMessageId: string) => boolean
  readonly add: (providerMessageId: string) => void
}

/** Creates the set; keeps the `limit` most recent ids. */
export const makeHandledMessages = (limit = 100_000): HandledMessages => {
  const ids = new Set<string>()
  return {
    has: (id) => ids.has(id),
    add: (id) => {
      ids.delete(id)
      ids.add(id)
      if (ids.size > limit) {
        const oldest = ids.values().next().value
        if (oldest !== undefined) ids.delete(oldest)
      }
    }
  }
}
