import type { DialogiEvent } from "@dialogi/core"

/**
 * The hub's event log as the chat adapter follows it to reach visitors connected to this
 * instance when another instance wrote the message (an agent reply whose send job another
 * instance claimed, a message from the visitor's tab on another instance). Wire it with
 * {@link hubFanOut}.
 */
export interface ChatFanOut {
  /** The newest event seq now: following starts there. */
  readonly head: () => Promise<number>
  /**
   * Every event after `cursor`, then new ones as they commit on any instance (the store's
   * LISTEN/NOTIFY on PostgreSQL); `close` ends the iteration.
   */
  readonly subscribe: (cursor: number) => AsyncIterable<DialogiEvent> & { readonly close: () => void }
}

/** The part of the hub that {@link hubFanOut} uses (core's `hub.events`). */
export interface HubEventFollower {
  readonly events: {
    readonly after: (cursor: number, limit: number) => Promise<ReadonlyArray<DialogiEvent>>
    readonly subscribe: (cursor: number) => AsyncIterable<DialogiEvent> & { readonly close: () => void }
  }
}

/**
 * A {@link ChatFanOut} over the hub's event stream. Core has no "head of the log" query, so the
 * head is found by searching for the last cursor that still has an event after it: about
 * 2·log2(head) one-row reads through the sequence index, once when following starts, instead
 * of replaying the whole log. `hub` may be a function so the adapter can be created before the
 * hub that uses it.
 */
export const hubFanOut = (hub: HubEventFollower | (() => HubEventFollower)): ChatFanOut => {
  const reader = () => (typeof hub === "function" ? hub() : hub)
  return {
    head: async () => {
      const events = reader().events
      const hasEventAfter = async (cursor: number) => (await events.after(cursor, 1)).length > 0
      if (!(await hasEventAfter(0))) return 0
      // Invariant: an event follows `low`, none follows `high`; the head is in (low, high].
      let low = 0
      let high = 1
      while (await hasEventAfter(high)) {
        low = high
        high *= 2
      }
      while (high - low > 1) {
        const middle = Math.floor((low + high) / 2)
        if (await hasEventAfter(middle)) low = middle
        else high = middle
      }
      return high
    },
    subscribe: (cursor) => reader().events.subscribe(cursor)
  }
}
