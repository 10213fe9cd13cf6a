import { type QueuePolicy, Store, type StoreError, type StoreService } from "@dialogi/core"
import { Context, Effect, Either, Layer, ParseResult, Queue, Schedule, Schema, type Scope } from "effect"
import {
  type Advance,
  advance,
  DeliveryJob,
  handleDeliveryJob,
  nextWanted,
  webhookQueue
} from "./deliveryChain.js"
import { InvalidWebhookInput, UnknownSubscription } from "./errors.js"
import { Subscription, type SubscriptionInput } from "./Subscription.js"
import { headSeq, loadCursor } from "./SubscriptionCursor.js"
import { seqOfWebhookId, webhookIdOf } from "./WebhookPayload.js"

/** Options of the webhook sender. */
export interface WebhooksOptions {
  readonly subscriptions: ReadonlyArray<SubscriptionInput>
  /** Retries per delivery before it is dead-lettered; default 10. */
  readonly retryLimit?: number | undefined
  /** Delay before the first retry, doubling per attempt (with jitter, at most 1 h); default 5 s. */
  readonly retryDelayMs?: number | undefined
  /** Per-attempt HTTP timeout; default 15 s. */
  readonly timeoutMs?: number | undefined
  /** Deliveries running at once on this instance (one per subscription at a time); default 8. */
  readonly concurrency?: number | undefined
  /**
   * After this long, a delivery whose job was lost (a worker killed during its last attempt)
   * is queued again. Default: the whole retry schedule plus the timeouts plus 15 minutes.
   */
  readonly stalledAfterMs?: number | undefined
  /** Where warnings go (failed attempts, dropped jobs); default console. */
  readonly log?:
    | ((level: "debug" | "info" | "warn" | "error", message: string, data?: unknown) => void)
    | undefined
  /** The fetch used for deliveries; default the global one. */
  readonly fetch?: typeof globalThis.fetch | undefined
}

/** Which events to replay: one by its `webhook-id`, or a range of sequence numbers. */
export type ReplayRange =
  | { readonly id: string }
  | {
      /** Replay events after this sequence number (a cursor: 0 = from the first event). */
      readonly after: number
      /** Up to and including this one; default the newest event now. */
      readonly to?: number | undefined
    }

/** A replay that was queued. */
export interface ReplayStarted {
  readonly replayId: string
  /** The first event it delivers; undefined when the range holds none the subscription wants. */
  readonly firstWebhookId: string | undefined
}

/** A delivery that exhausted its retries. */
export interface DeadDelivery {
  readonly jobId: string
  readonly subscriptionId: string
  readonly webhookId: string
  readonly seq: number
  readonly replay: boolean
  readonly reason: string
  readonly attempts: number
}

/** Where a subscription is: everything up to `cursor` is handled; `inFlight` is being delivered. */
export interface SubscriptionStatus {
  readonly subscriptionId: string
  readonly cursor: number
  readonly inFlight: number | undefined
}

/** The webhook sender, as Effects. Deliveries run in the background until the scope closes. */
export interface WebhooksService {
  /** Delivers events again, in order, independently of the subscription's live cursor. */
  readonly replay: (
    subscriptionId: string,
    range: ReplayRange
  ) => Effect.Effect<ReplayStarted, UnknownSubscription | InvalidWebhookInput | StoreError>
  /** Deliveries that were given up, oldest first; replay them by `webhookId`. */
  readonly deadLetters: () => Effect.Effect<ReadonlyArray<DeadDelivery>, StoreError>
  readonly status: (
    subscriptionId: string
  ) => Effect.Effect<SubscriptionStatus, UnknownSubscription | StoreError>
}

/** The webhook sender's tag. */
export class Webhooks extends Context.Tag("@dialogi/webhooks/Webhooks")<Webhooks, WebhooksService>() {}

// New events arrive with a notification; this poll bounds the delay when one is lost.
const safetyPollMs = 5_000
const maxDelayMs = 3_600_000

const invalid = (what: string) => (error: ParseResult.ParseError) =>
  new InvalidWebhookInput({
    what,
    // Paths and messages only: the default formatting would print secrets it rejected.
    message: ParseResult.ArrayFormatter.formatErrorSync(error)
      .map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`)
      .join("; ")
  })

const count = (min: number) =>
  Schema.optional(Schema.Number.pipe(Schema.int(), Schema.greaterThanOrEqualTo(min)))
// The numeric options, checked like the subscriptions: NaN or a negative delay would misbehave quietly.
const Tuning = Schema.Struct({
  retryLimit: count(0),
  retryDelayMs: count(1),
  timeoutMs: count(1),
  concurrency: count(1),
  stalledAfterMs: count(1)
})

const retryScheduleMs = (policy: QueuePolicy): number => {
  let total = 0
  for (let attempt = 1; attempt <= policy.retryLimit; attempt++)
    total += Math.min(maxDelayMs, policy.retryDelayMs * 2 ** (attempt - 1))
  return total
}

const defaultLog: NonNullable<WebhooksOptions["log"]> = (level, message, data) =>
  console[level === "debug" ? "debug" : level](message, ...(data === undefined ? [] : [data]))

/**
 * Starts the webhook sender on a store (the hub's store): defines the delivery queue, works it,
 * and follows the event log for every subscription from its stored cursor.
 */
export const make = (
  store: StoreService,
  options: WebhooksOptions
): Effect.Effect<WebhooksService, InvalidWebhookInput | StoreError, Scope.Scope> =>
  Effect.gen(function* () {
    const list = yield* Schema.decodeUnknown(Schema.Array(Subscription))(options.subscriptions, {
      errors: "all"
    }).pipe(Effect.mapError(invalid("subscriptions")))
    const subscriptions = new Map(list.map((s) => [s.id, s]))
    if (subscriptions.size !== list.length)
      return yield* new InvalidWebhookInput({
        what: "subscriptions",
        message: "subscription ids must be unique"
      })
    const tuning = yield* Schema.decodeUnknown(Tuning)(options, { errors: "all" }).pipe(
      Effect.mapError(invalid("options"))
    )
    const policy: QueuePolicy = {
      retryLimit: tuning.retryLimit ?? 10,
      retryDelayMs: tuning.retryDelayMs ?? 5_000,
      backoff: true
    }
    const timeoutMs = tuning.timeoutMs ?? 15_000
    const chain = {
      http: { timeoutMs, fetch: options.fetch ?? globalThis.fetch },
      scanLimit: 2_000,
      stalledAfterMs:
        tuning.stalledAfterMs ?? retryScheduleMs(policy) + (policy.retryLimit + 1) * timeoutMs + 15 * 60_000,
      log: options.log ?? defaultLog
    }

    const wake = yield* Effect.acquireRelease(Queue.sliding<void>(1), Queue.shutdown)
    const wakeDispatcher = () => void Queue.unsafeOffer(wake, undefined)
    const unsubscribe = store.watchEvents(wakeDispatcher)
    yield* Effect.addFinalizer(() => Effect.sync(unsubscribe))

    yield* store.defineQueue(webhookQueue, policy)
    yield* store.work(webhookQueue, handleDeliveryJob(store, subscriptions, chain, wakeDispatcher), {
      concurrency: tuning.concurrency ?? 8
    })

    const settle = (subscription: Subscription) =>
      store
        .transaction((tx) => advance(tx, subscription, chain))
        .pipe(Effect.repeat({ while: (result: Advance) => result === "more" }))
    const pass = Effect.forEach(list, settle, { discard: true }).pipe(
      Effect.catchAll((error) =>
        Effect.sync(() => chain.log("warn", "[dialogi/webhooks] dispatch failed", error))
      )
    )
    // The first pass runs before the sender is handed out, so that a subscription starting "now"
    // has its cursor before the caller produces the next event.
    yield* pass
    yield* Effect.forkScoped(
      Effect.repeat(
        Effect.zipRight(Queue.take(wake).pipe(Effect.timeoutOption(safetyPollMs)), pass),
        Schedule.forever
      )
    )

    const find = (subscriptionId: string) => {
      const subscription = subscriptions.get(subscriptionId)
      return subscription
        ? Effect.succeed(subscription)
        : Effect.fail(new UnknownSubscription({ subscriptionId }))
    }

    const rangeOf = (range: ReplayRange) =>
      Effect.gen(function* () {
        if ("id" in range) {
          const seq = seqOfWebhookId(range.id)
          if (seq === undefined)
            return yield* new InvalidWebhookInput({
              what: "replay",
              message: `${range.id} is not a webhook id`
            })
          return { after: seq - 1, to: seq as number | undefined }
        }
        const valid = (n: number | undefined) => n === undefined || (Number.isSafeInteger(n) && n >= 0)
        if (!valid(range.after) || !valid(range.to) || (range.to !== undefined && range.to <= range.after))
          return yield* new InvalidWebhookInput({
            what: "replay",
            message: "a range is 0 <= after < to, integers"
          })
        return { after: range.after, to: range.to }
      })

    const replay: WebhooksService["replay"] = (subscriptionId, range) =>
      Effect.gen(function* () {
        const subscription = yield* find(subscriptionId)
        const bounds = yield* rangeOf(range)
        const replayId = `rp_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 10)}`
        return yield* store.transaction((tx) =>
          Effect.gen(function* () {
            const to = bounds.to ?? (yield* headSeq(tx))
            const next = yield* nextWanted(tx, subscription, bounds.after, to)
            if (!next.event) return { replayId, firstWebhookId: undefined }
            const job: DeliveryJob = {
              kind: "replay",
              subscription: subscription.id,
              seq: next.event.seq,
              to,
              replay: replayId
            }
            yield* tx.enqueueJob({
              queue: webhookQueue,
              key: `replay:${replayId}:${next.event.seq}`,
              payload: { ...job }
            })
            return { replayId, firstWebhookId: webhookIdOf(next.event.seq) }
          })
        )
      })

    const deadLetters: WebhooksService["deadLetters"] = () =>
      Effect.map(store.deadJobs(webhookQueue), (jobs) =>
        jobs.flatMap((job) => {
          const payload = Schema.decodeUnknownEither(DeliveryJob)(job.payload)
          if (Either.isLeft(payload)) return []
          const { subscription, seq, kind } = payload.right
          return [
            {
              jobId: job.id,
              subscriptionId: subscription,
              webhookId: webhookIdOf(seq),
              seq,
              replay: kind === "replay",
              reason: job.reason,
              attempts: job.attempts
            }
          ]
        })
      )

    const status: WebhooksService["status"] = (subscriptionId) =>
      Effect.gen(function* () {
        const subscription = yield* find(subscriptionId)
        const cursor = yield* store.read((tx) => loadCursor(tx, subscription.id))
        return { subscriptionId, cursor: cursor?.cursor ?? 0, inFlight: cursor?.inFlight ?? undefined }
      })

    return { replay, deadLetters, status }
  })

/** A layer providing {@link Webhooks} on the {@link Store} in context (the hub's store). */
export const layer = (
  options: WebhooksOptions
): Layer.Layer<Webhooks, InvalidWebhookInput | StoreError, Store> =>
  Layer.scoped(
    Webhooks,
    Effect.flatMap(Store, (store) => make(store, options))
  )
