import { StoreError, type StoreTx } from "@dialogi/core"
import { Effect, Either, Schema } from "effect"

/**
 * Where a subscription is in the event log: every event up to `cursor` is handled (delivered,
 * dead-lettered or not subscribed to); `inFlight` is the event whose delivery job is queued or
 * running (at most one, which is what keeps deliveries in order), queued at `since` (ms).
 */
export const SubscriptionCursor = Schema.Struct({
  cursor: Schema.Number,
  inFlight: Schema.NullOr(Schema.Number),
  since: Schema.Number
})
/** @see SubscriptionCursor */
export type SubscriptionCursor = typeof SubscriptionCursor.Type

// The store has no general key-value table, but its deadline table is a durable, transactional
// keyed record: a "deadline" of a kind that no runner claims, due at the end of time, never
// fires. Reading and writing it inside the delivery transactions is what makes "advance the
// cursor" and "enqueue the next delivery" commit together.
const recordKind = "dialogi.webhooks.cursor"
const neverDue = new Date("9999-12-31T00:00:00.000Z")
const keyOf = (subscriptionId: string) => `webhooks:cursor:${subscriptionId}`
const decode = Schema.decodeUnknownEither(SubscriptionCursor)

/** The subscription's cursor, or undefined before its first delivery pass. */
export const loadCursor = (
  tx: StoreTx,
  subscriptionId: string
): Effect.Effect<SubscriptionCursor | undefined, StoreError> =>
  Effect.flatMap(tx.getDeadline(keyOf(subscriptionId)), (record) => {
    if (!record) return Effect.succeed(undefined)
    const cursor = decode(record.payload)
    return Either.isRight(cursor)
      ? Effect.succeed(cursor.right)
      : Effect.fail(
          new StoreError({
            message: `[dialogi/webhooks] unreadable cursor of subscription ${subscriptionId}`,
            transient: false
          })
        )
  })

/** Writes the subscription's cursor in the caller's transaction. */
export const saveCursor = (tx: StoreTx, subscriptionId: string, cursor: SubscriptionCursor) =>
  tx.armDeadline({ key: keyOf(subscriptionId), kind: recordKind, dueAt: neverDue, payload: { ...cursor } })

/**
 * The newest event's sequence number. Sequence numbers are gap-free (1, 2, 3, ...), so
 * "is there an event after n - 1" answers "is n <= head", and a doubling search then a binary
 * search find the head in about 2 log2(head) one-row reads. Runs once per new subscription.
 */
export const headSeq = (tx: StoreTx): Effect.Effect<number, StoreError> =>
  Effect.gen(function* () {
    const exists = (seq: number) => Effect.map(tx.eventsAfter(seq - 1, 1), (page) => page.length > 0)
    if (!(yield* exists(1))) return 0
    let low = 1
    let high = 2
    while (yield* exists(high)) {
      low = high
      high *= 2
    }
    while (high - low > 1) {
      const middle = Math.floor((low + high) / 2)
      if (yield* exists(middle)) low = middle
      else high = middle
    }
    return low
  })
