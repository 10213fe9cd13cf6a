import type { KeyValueStore } from "./KeyValueStore.js"

const prefix = "conversation:"

/**
 * The conversation a number last wrote or called into, as the hub answered its ingest. Core
 * looks conversations up by contact, not by phone number, and an inbound call's greeting must
 * be answered before anything of the call is stored; this map lets the greeting ask the SLA
 * clock of the caller's thread.
 */
export interface CallerConversations {
  readonly remember: (number: string, conversationId: string) => Promise<void>
  readonly of: (number: string) => Promise<string | undefined>
}

/** {@link CallerConversations} on the adapters' state store, with an in-process copy. */
export const makeCallerConversations = (state: KeyValueStore): CallerConversations => {
  const known = new Map<string, string>()
  return {
    remember: async (number, conversationId) => {
      if (known.get(number) === conversationId) return
      await state.set(`${prefix}${number}`, conversationId)
      known.set(number, conversationId)
    },
    of: async (number) => {
      const cached = known.get(number)
      if (cached !== undefined) return cached
      const stored = await state.get(`${prefix}${number}`)
      if (stored !== undefined) known.set(number, stored)
      return stored
    }
  }
}
