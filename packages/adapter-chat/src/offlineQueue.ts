import type { Job, JobRetry, QueuePolicy, StoreService } from "@dialogi/core"
import { Effect, Exit, Schema, Scope } from "effect"

/** The part of the store the offline fallback uses: its durable job queue. */
export type OfflineJobStore = Pick<StoreService, "transaction" | "defineQueue" | "work">

/** Where the fallback's own trouble is reported: the adapter passes the hub's log. */
export type OfflineLog = (level: "debug" | "info" | "warn" | "error", message: string, data?: unknown) => void

/**
 * Thrown by a check that ran before the hub it reads was handed out (a due check claimed while
 * the hub is still starting after a restart): retried in a second, not with the backoff.
 */
export class HubNotReady extends Error {
  constructor() {
    super("[dialogi/chat] the hub is still starting")
  }
}

/** The payload of one offline check: which reply to look at. */
export const OfflineCheck = Schema.Struct({
  conversationId: Schema.String,
  messageId: Schema.String
})
export type OfflineCheck = typeof OfflineCheck.Type

const decodeCheck = Schema.decodeUnknownEither(OfflineCheck)

// A failed check (the store or the hub briefly unavailable, the hub still starting after a
// restart) is tried again for about five minutes before it is dead-lettered.
const policy: QueuePolicy = { retryLimit: 6, retryDelayMs: 5_000, backoff: true }

/**
 * Durable "look at this reply again in `afterMs`": a job on the store's queue (pg-boss on
 * PostgreSQL and PGlite), due at that time and keyed by the reply, so a send retried after a
 * crash schedules one check, the check survives a restart, and with several instances one of
 * them runs it.
 */
export const makeOfflineQueue = (options: {
  readonly store: OfflineJobStore
  readonly queue: string
  readonly afterMs: number
  readonly check: (reply: OfflineCheck) => Promise<unknown>
}) => {
  const { store, queue, afterMs } = options

  const handle =
    (log: OfflineLog) =>
    (job: Job): Effect.Effect<void, JobRetry> => {
      const decoded = decodeCheck(job.payload)
      if (decoded._tag === "Left") {
        // Not written by `schedule`: retrying cannot make it one.
        log("warn", `[dialogi/chat] dropped an offline check that is not one: ${decoded.left.message}`)
        return Effect.void
      }
      return Effect.tryPromise(() => options.check(decoded.right)).pipe(
        Effect.tap((outcome) =>
          Effect.sync(() =>
            log("debug", `[dialogi/chat] offline check of ${decoded.right.messageId}`, outcome)
          )
        ),
        Effect.asVoid,
        Effect.mapError(
          (error): JobRetry => ({
            _tag: "JobRetry",
            reason: `offline check of ${decoded.right.messageId} failed: ${String((error.error as Error)?.message ?? error.error)}`,
            ...(error.error instanceof HubNotReady ? { delayMs: 1_000 } : {})
          })
        )
      )
    }

  return {
    schedule: (reply: OfflineCheck): Promise<void> =>
      Effect.runPromise(
        store.transaction((tx) =>
          tx.enqueueJob({
            queue,
            key: `${queue}:${reply.messageId}`,
            payload: { conversationId: reply.conversationId, messageId: reply.messageId },
            runAt: new Date(Date.now() + afterMs)
          })
        )
      ),
    /** Works due checks until the returned function is called. */
    start: async (log: OfflineLog): Promise<() => Promise<void>> => {
      const scope = Effect.runSync(Scope.make())
      try {
        await Effect.runPromise(
          Scope.extend(
            Effect.zipRight(store.defineQueue(queue, policy), store.work(queue, handle(log))),
            scope
          )
        )
      } catch (error) {
        await Effect.runPromise(Scope.close(scope, Exit.void))
        throw error
      }
      return () => Effect.runPromise(Scope.close(scope, Exit.void))
    }
  }
}
