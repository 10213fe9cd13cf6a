import { Schema } from "effect"
import type { KeyValueStore } from "./KeyValueStore.js"

/** One number's latest opt-out keyword. */
export const OptOutRecord = Schema.Struct({
  /** E.164 number of the customer. */
  number: Schema.String,
  optedOut: Schema.Boolean,
  /** The keyword that set this state (STOP, START, ...). */
  keyword: Schema.String,
  /** When the customer sent it (epoch ms); a later record wins, whatever order webhooks come in. */
  at: Schema.Number
})
/** @see OptOutRecord */
export type OptOutRecord = typeof OptOutRecord.Type

/**
 * Where opt-outs live. Core has no key-value store for adapters yet, so the adapter keeps
 * this behind a small interface; the default is {@link keyValueOptOutStore} on the adapters'
 * `stateStore`. `load` runs once at start because `checkReply` is synchronous and answers
 * from the loaded copy.
 */
export interface OptOutStore {
  readonly load: () => Promise<ReadonlyArray<OptOutRecord>>
  readonly save: (record: OptOutRecord) => Promise<void>
  /**
   * One number's record, read at reply and send time when present: a STOP that another
   * instance stored on a shared store is then honoured here at once, not after a restart.
   */
  readonly get?: ((number: string) => Promise<OptOutRecord | undefined>) | undefined
}

/** An in-memory {@link OptOutStore}: fine for tests and one-process demos, not durable. */
export const memoryOptOutStore = (): OptOutStore => {
  const records = new Map<string, OptOutRecord>()
  return {
    load: async () => [...records.values()],
    save: async (record) => {
      records.set(record.number, record)
    }
  }
}

const optOutPrefix = "optout:"
const decodeRecord = Schema.decodeUnknownSync(Schema.parseJson(OptOutRecord))

/**
 * Opt-outs on a {@link KeyValueStore}, one key per number: with a durable store (files, the
 * host's database) a STOP survives restarts. A record that no longer decodes fails the load
 * loudly rather than silently letting SMS go to someone who said STOP.
 */
export const keyValueOptOutStore = (store: KeyValueStore): OptOutStore => ({
  load: async () => (await store.list(optOutPrefix)).map(([, value]) => decodeRecord(value)),
  save: (record) => store.set(`${optOutPrefix}${record.number}`, JSON.stringify(record)),
  get: async (number) => {
    const value = await store.get(`${optOutPrefix}${number}`)
    return value === undefined ? undefined : decodeRecord(value)
  }
})

/** The opt-out state of one adapter instance. */
export interface OptOutRegistry {
  readonly start: () => Promise<void>
  /** From the copy loaded at start plus what this instance recorded since. */
  readonly isOptedOut: (number: string) => OptOutRecord | undefined
  /** Reads the store first when it can answer for one number (see {@link OptOutStore.get}). */
  readonly lookup: (number: string) => Promise<OptOutRecord | undefined>
  readonly record: (record: OptOutRecord) => Promise<void>
}

/** Wraps a store with the view `checkReply` and `send` ask. */
export const makeOptOutRegistry = (store: OptOutStore): OptOutRegistry => {
  const current = new Map<string, OptOutRecord>()
  const remember = (record: OptOutRecord) => {
    const known = current.get(record.number)
    if (!known || known.at <= record.at) current.set(record.number, record)
  }
  return {
    start: async () => {
      for (const record of await store.load()) remember(record)
    },
    isOptedOut: (number) => {
      const record = current.get(number)
      return record?.optedOut ? record : undefined
    },
    lookup: async (number) => {
      const stored = await store.get?.(number)
      if (stored) remember(stored)
      const record = current.get(number)
      return record?.optedOut ? record : undefined
    },
    record: async (record) => {
      const known = current.get(record.number)
      if (known && known.at > record.at) return
      // Saved before the webhook is acknowledged: a STOP Twilio was told we have is never lost.
      await store.save(record)
      remember(record)
    }
  }
}
