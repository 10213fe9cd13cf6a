import type { DialogiEvent, Job, JobRetry, StoreError, StoreService, StoreTx } from "@dialogi/core"
import { Effect, Either, Schema } from "effect"
import { type DeliveryOutcome, deliverEvent, type HttpDeliveryOptions } from "./httpDelivery.js"
import { type Subscription, subscribesTo } from "./Subscription.js"
import { headSeq, loadCursor, saveCursor } from "./SubscriptionCursor.js"
import { webhookIdOf } from "./WebhookPayload.js"

/** The durable queue that carries webhook deliveries. */
export const webhookQueue = "dialogi.webhooks"

/**
 * One delivery job: event `seq` to a subscription. `live` jobs follow the subscription's
 * cursor, one at a time; `replay` jobs walk a range (up to `to`) on their own, one at a time.
 */
export const DeliveryJob = Schema.Union(
  Schema.Struct({ kind: Schema.Literal("live"), subscription: Schema.String, seq: Schema.Number }),
  Schema.Struct({
    kind: Schema.Literal("replay"),
    subscription: Schema.String,
    seq: Schema.Number,
    to: Schema.Number,
    replay: Schema.String
  })
)
/** @see DeliveryJob */
export type DeliveryJob = typeof DeliveryJob.Type
const decodeJob = Schema.decodeUnknownEither(DeliveryJob)

/** What the chain needs besides the store. */
export interface ChainOptions {
  readonly http: HttpDeliveryOptions
  /** Events one transaction looks through for the next one to deliver. */
  readonly scanLimit: number
  /** After this long, an in-flight delivery whose job was lost is queued again. */
  readonly stalledAfterMs: number
  readonly log: (level: "debug" | "info" | "warn" | "error", message: string, data?: unknown) => void
}

/** What advancing a subscription did. */
export type Advance = "queued" | "waiting" | "idle" | "more"

const pageSize = 500
const lockKey = (subscriptionId: string) => `webhooks:${subscriptionId}`

const enqueue = (tx: StoreTx, job: DeliveryJob, key: string) =>
  tx.enqueueJob({ queue: webhookQueue, key, payload: { ...job } })

/** The first event after `after` (and at most `to`) that the subscription wants. */
export const nextWanted = (
  tx: StoreTx,
  subscription: Subscription,
  after: number,
  to = Number.POSITIVE_INFINITY,
  scanLimit = Number.POSITIVE_INFINITY
): Effect.Effect<
  { readonly event?: DialogiEvent; readonly scannedTo: number; readonly more: boolean },
  StoreError
> =>
  Effect.gen(function* () {
    let scannedTo = after
    let scanned = 0
    while (scanned < scanLimit && scannedTo < to) {
      const limit = Math.min(pageSize, scanLimit - scanned)
      const page = yield* tx.eventsAfter(scannedTo, limit)
      for (const event of page) {
        if (event.seq > to) return { scannedTo, more: false }
        if (subscribesTo(subscription, event.body._tag)) return { event, scannedTo, more: false }
        scannedTo = event.seq
      }
      scanned += page.length
      if (page.length < limit) return { scannedTo, more: false }
    }
    return { scannedTo, more: scannedTo < to }
  })

// Runs under the subscription's lock (taken by the caller, in this transaction).
const advanceLocked = (tx: StoreTx, subscription: Subscription, options: ChainOptions) =>
  Effect.gen(function* () {
    const now = (yield* tx.now()).getTime()
    const stored = yield* loadCursor(tx, subscription.id)
    const state = stored ?? {
      cursor: subscription.startAt === "beginning" ? 0 : yield* headSeq(tx),
      inFlight: null,
      since: now
    }
    if (state.inFlight !== null) {
      if (now - state.since < options.stalledAfterMs) return "waiting" satisfies Advance
      // Its job is gone: the worker died during the last attempt, or the store failed while the
      // outcome was recorded. Queue the same event again rather than stall the subscription.
      options.log("warn", `[dialogi/webhooks] re-queueing stalled ${webhookIdOf(state.inFlight)}`, {
        subscription: subscription.id
      })
      const job = { kind: "live", subscription: subscription.id, seq: state.inFlight } as const
      yield* enqueue(tx, job, `live:${subscription.id}:${state.inFlight}:${now}`)
      yield* saveCursor(tx, subscription.id, { ...state, since: now })
      return "queued" satisfies Advance
    }
    const next = yield* nextWanted(tx, subscription, state.cursor, undefined, options.scanLimit)
    if (next.event) {
      const job = { kind: "live", subscription: subscription.id, seq: next.event.seq } as const
      yield* enqueue(tx, job, `live:${subscription.id}:${next.event.seq}:${now}`)
      yield* saveCursor(tx, subscription.id, { cursor: next.scannedTo, inFlight: next.event.seq, since: now })
      return "queued" satisfies Advance
    }
    if (!stored || next.scannedTo !== state.cursor)
      yield* saveCursor(tx, subscription.id, { cursor: next.scannedTo, inFlight: null, since: now })
    return (next.more ? "more" : "idle") satisfies Advance
  })

/**
 * Moves a subscription on, in one transaction: when nothing is in flight, finds its next
 * wanted event after the cursor and queues its delivery job, advancing the cursor past the
 * events it does not want. Several instances may call this at once; the lock makes one win.
 */
export const advance = (
  tx: StoreTx,
  subscription: Subscription,
  options: ChainOptions
): Effect.Effect<Advance, StoreError> =>
  Effect.zipRight(tx.lock([lockKey(subscription.id)]), advanceLocked(tx, subscription, options))

/** Records that `seq` is done (delivered or dead-lettered) and queues the next delivery. */
const complete = (tx: StoreTx, subscription: Subscription, seq: number, options: ChainOptions) =>
  Effect.gen(function* () {
    yield* tx.lock([lockKey(subscription.id)])
    const state = yield* loadCursor(tx, subscription.id)
    // Already moved on: this was a second run of the job (after a crash or a stall re-queue).
    if (state?.inFlight !== seq) return "waiting" satisfies Advance
    yield* saveCursor(tx, subscription.id, { cursor: seq, inFlight: null, since: state.since })
    return yield* advanceLocked(tx, subscription, options)
  })

const retry = (
  subscription: Subscription,
  seq: number,
  outcome: Extract<DeliveryOutcome, { _tag: "failed" }>
) =>
  Effect.fail<JobRetry>({
    _tag: "JobRetry",
    reason: `${webhookIdOf(seq)} to ${subscription.id}: ${outcome.reason}`,
    delayMs: outcome.retryAfterMs
  })

/**
 * Handles one delivery job. A failed attempt is retried by the queue with backoff; after the
 * last one the job is dead-lettered and the subscription moves on (the event stays replayable
 * by id). Deliveries are at least once: a crash between the receiver's 2xx and the commit
 * that records it sends the same `webhook-id` again.
 */
export const handleDeliveryJob =
  (
    store: StoreService,
    subscriptions: ReadonlyMap<string, Subscription>,
    options: ChainOptions,
    wakeDispatcher: () => void
  ) =>
  (job: Job): Effect.Effect<void, JobRetry> =>
    Effect.gen(function* () {
      const decoded = decodeJob(job.payload)
      if (Either.isLeft(decoded)) {
        options.log("error", "[dialogi/webhooks] dropping a job that is not a delivery", job.payload)
        return
      }
      const payload = decoded.right
      const subscription = subscriptions.get(payload.subscription)
      if (!subscription) {
        options.log("warn", `[dialogi/webhooks] subscription ${payload.subscription} is no longer configured`)
        return
      }
      if (payload.kind === "live") {
        const state = yield* store.read((tx) => loadCursor(tx, subscription.id))
        if (state?.inFlight !== payload.seq) return
      }
      const [event] = yield* store.read((tx) => tx.eventsAfter(payload.seq - 1, 1))
      const outcome: DeliveryOutcome =
        event?.seq === payload.seq
          ? yield* deliverEvent(subscription, event, options.http)
          : { _tag: "delivered", status: 0 }
      if (outcome._tag === "delivered" || job.lastAttempt) {
        if (payload.kind === "live") {
          const next = yield* store.transaction((tx) => complete(tx, subscription, payload.seq, options))
          if (next === "more") wakeDispatcher()
        } else {
          yield* store.transaction((tx) =>
            Effect.gen(function* () {
              const next = yield* nextWanted(tx, subscription, payload.seq, payload.to)
              if (next.event)
                yield* enqueue(
                  tx,
                  { ...payload, seq: next.event.seq },
                  `replay:${payload.replay}:${next.event.seq}`
                )
            })
          )
        }
      }
      if (outcome._tag === "failed") {
        options.log("warn", `[dialogi/webhooks] delivery failed: ${outcome.reason}`, {
          subscription: subscription.id,
          webhookId: webhookIdOf(payload.seq),
          attempt: job.attempt,
          deadLettered: job.lastAttempt
        })
        return yield* retry(subscription, payload.seq, outcome)
      }
    }).pipe(
      // A store outage while reading or recording: the queue tries the job again later.
      Effect.catchTag("StoreError", (e) => Effect.fail<JobRetry>({ _tag: "JobRetry", reason: e.message }))
    )
