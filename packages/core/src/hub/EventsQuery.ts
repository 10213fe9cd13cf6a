import { Effect, Schema } from "effect"
import { InvalidInput } from "../domain/Errors.js"
import { ConversationId } from "../domain/Ids.js"
import type { EventFilter } from "../store/Store.js"

/** The most events one `events.after` call returns; a larger `limit` is cut to this. */
export const maxEventsPage = 5_000
const defaultEventsPage = 500

/** What `hub.events.after(cursor, query)` reads: a page size and optionally one conversation. */
export const EventsQuery = Schema.Struct({
  /** At most this many events (1 or more; more than 5,000 is cut to 5,000). Default 500. */
  limit: Schema.optional(Schema.Int.pipe(Schema.greaterThanOrEqualTo(1))),
  /** Only this conversation's events, read through its own index instead of the whole log. */
  conversationId: Schema.optional(ConversationId)
})
export type EventsQuery = typeof EventsQuery.Encoded

const Cursor = Schema.Int.pipe(Schema.greaterThanOrEqualTo(0))
const decodeCursor = Schema.decodeUnknown(Cursor)
const decodeQuery = Schema.decodeUnknown(EventsQuery)

/** A checked events read: the cursor, the page size to ask the store for, and its filter. */
export interface EventsRead {
  readonly cursor: number
  readonly limit: number
  readonly filter: EventFilter
}

/**
 * Checks the arguments of `events.after`. A bare number is the page size of the first API and
 * keeps its meaning (clamped to 1..5,000) so existing callers are unaffected; a query object
 * is validated, and a cursor that is not a whole number >= 0 is refused rather than read as
 * "from the start".
 */
export const decodeEventsRead = (
  cursor: unknown,
  query: number | EventsQuery | undefined
): Effect.Effect<EventsRead, InvalidInput> =>
  Effect.gen(function* () {
    const at = yield* decodeCursor(cursor).pipe(
      Effect.mapError(() => new InvalidInput({ what: "events cursor", message: "must be an integer >= 0" }))
    )
    if (typeof query === "number") {
      if (!Number.isFinite(query))
        return yield* new InvalidInput({ what: "events limit", message: "must be a number" })
      return { cursor: at, limit: Math.min(Math.max(1, Math.floor(query)), maxEventsPage), filter: {} }
    }
    const decoded = yield* decodeQuery(query ?? {}).pipe(
      Effect.mapError((e) => new InvalidInput({ what: "events query", message: e.message }))
    )
    return {
      cursor: at,
      limit: Math.min(decoded.limit ?? defaultEventsPage, maxEventsPage),
      filter: decoded.conversationId === undefined ? {} : { conversationId: decoded.conversationId }
    }
  })
