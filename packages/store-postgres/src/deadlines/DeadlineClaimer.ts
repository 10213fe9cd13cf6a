import {
  type Deadline,
  type DeadlineRunOptions,
  deadlineRetryDelay,
  type StoreError,
  type StoreService,
  type StoreTx
} from "@dialogi/core"
import { Cause, Deferred, Effect, Exit, Fiber } from "effect"
import type { SqlDriver, SqlTransaction } from "../driver/SqlDriver.js"
import type { TxEffects } from "../sqlTx.js"
import { toStoreError } from "../storeError.js"
import { deadlineOf, deadlineSql, deadlinesChannel, notifyWindowMs } from "./deadlineSql.js"

/** What the claimer needs from the store it runs in. */
export interface DeadlineClaimerDeps {
  readonly driver: SqlDriver
  /** Opens a transaction with the store's operations on it. */
  readonly begin: () => Promise<{ handle: SqlTransaction; tx: StoreTx; effects: TxEffects }>
  readonly afterCommit: (effects: TxEffects) => void
  /** The queue a handler failed to enqueue onto because this instance has not created it yet. */
  readonly missingQueue: (error: unknown) => string | undefined
  readonly ensureQueue: (queue: string) => Promise<void>
  /** Whether other processes share the database (LISTEN for their arms). */
  readonly listen: boolean
  readonly onBackgroundError: (error: unknown) => void
}

/** One running claim loop, woken when a deadline earlier than the one it sleeps towards is armed. */
interface Waiter {
  readonly kinds: ReadonlySet<string>
  /** Epoch ms of the deadline it sleeps towards; undefined = wake on any arm of its kinds. */
  plannedDue: number | undefined
  signal: Deferred.Deferred<void>
}

/** A handler failed on the fast path: the batch was rolled back and runs again with savepoints. */
class Retry {
  readonly _tag = "RetryCarefully"
}

const wakeUp = (waiter: Waiter) => Deferred.unsafeDone(waiter.signal, Effect.void)

/**
 * Fires deadlines: a claim loop per `runDeadlines` call (times `concurrency`) that sleeps until
 * the nearest due time by the database's clock (never longer than a minute), claims due rows
 * with FOR UPDATE SKIP LOCKED, deletes them and runs their handlers in that one transaction.
 */
export const makeDeadlineClaimer = (deps: DeadlineClaimerDeps) => {
  const waiters = new Set<Waiter>()
  const fibers = new Set<Fiber.RuntimeFiber<unknown, unknown>>()
  let listening: Promise<(() => Promise<void>) | undefined> | undefined
  let stopped = false

  const attempt = <A>(operation: string, f: () => Promise<A>): Effect.Effect<A, StoreError> =>
    Effect.tryPromise({ try: f, catch: (error) => toStoreError(operation, error) })

  /** After this instance commits arms: wake loops that sleep past one of them. */
  const armed = (earliest: ReadonlyMap<string, number>) => {
    for (const waiter of waiters)
      for (const [kind, due] of earliest)
        if (waiter.kinds.has(kind) && (waiter.plannedDue === undefined || due < waiter.plannedDue)) {
          wakeUp(waiter)
          break
        }
  }

  const ensureListening = () => {
    if (!deps.listen || stopped) return Promise.resolve()
    listening ??= deps.driver
      .listen(
        deadlinesChannel,
        (payload) => {
          const space = payload.indexOf(" ")
          const due = Number(payload.slice(0, space))
          armed(new Map([[payload.slice(space + 1), Number.isFinite(due) ? due : 0]]))
        },
        // Notifications sent while the connection was down are gone: everyone looks again.
        () => {
          for (const waiter of waiters) wakeUp(waiter)
        }
      )
      .catch((error: unknown) => {
        // Without LISTEN the loops still re-check at least every minute.
        deps.onBackgroundError(error)
        listening = undefined
        return undefined
      })
    return listening.then(() => {})
  }

  const nearest = (kinds: ReadonlyArray<string>) =>
    Effect.map(
      attempt("nearestDeadline", () => deps.driver.query(deadlineSql.nearest, [kinds])),
      (rows) => {
        const row = rows[0]
        if (row === undefined) return undefined
        const due = row.due_at instanceof Date ? row.due_at : new Date(row.due_at as string)
        return { dueMs: due.getTime(), inMs: Number(row.in_ms) }
      }
    )

  /** One transaction: claim up to `batchSize` due deadlines, run each handler in a savepoint. */
  const claimBatch = <E>(
    kinds: ReadonlyArray<string>,
    handler: (deadline: Deadline, tx: StoreTx) => Effect.Effect<void, E>,
    options: DeadlineRunOptions | undefined,
    batchSize: number,
    careful: boolean
  ): Effect.Effect<number, E | StoreError | Retry> =>
    Effect.uninterruptibleMask((restore) =>
      Effect.gen(function* () {
        const { handle, tx, effects } = yield* attempt("begin", deps.begin)
        const missing = new Set<string>()
        const run = Effect.gen(function* () {
          const started = performance.now()
          const rows = yield* attempt("claimDeadlines", () =>
            handle.query(deadlineSql.claim, [kinds, batchSize])
          )
          options?.onClaim?.(rows.length, performance.now() - started)
          const due = rows.map(deadlineOf).sort((a, b) => a.dueAt.getTime() - b.dueAt.getTime())
          if (due.length > 0 && options?.prefetch) yield* options.prefetch(due, tx)
          for (const d of due) {
            // Careful mode: a savepoint per deadline, so a failing handler undoes only its own
            // writes. Savepoints are not released; a batch stays under the 64 subtransactions
            // PostgreSQL caches. The fast path has none: a failure there rolls back the batch,
            // which then runs again carefully.
            if (careful) yield* attempt("savepoint", () => handle.query("SAVEPOINT dialogi_deadline"))
            const before = {
              headSeq: effects.headSeq,
              queues: [...effects.queues],
              deadlines: [...effects.deadlines]
            }
            const exit = yield* Effect.exit(handler(d, tx))
            if (Exit.isSuccess(exit)) continue
            if (Cause.isInterruptedOnly(exit.cause)) return yield* Effect.failCause(exit.cause)
            if (!careful) return yield* Effect.fail(new Retry())
            yield* attempt("rollbackToSavepoint", () =>
              handle.query("ROLLBACK TO SAVEPOINT dialogi_deadline")
            )
            effects.headSeq = before.headSeq
            effects.queues.clear()
            for (const q of before.queues) effects.queues.add(q)
            effects.deadlines.clear()
            for (const [k, v] of before.deadlines) effects.deadlines.set(k, v)
            const error = Cause.squash(exit.cause)
            const queue = deps.missingQueue(error)
            // A queue this instance has not created yet is not the handler's fault: create it
            // after commit and run the deadline again at once, same attempt count.
            if (queue !== undefined) missing.add(queue)
            const attempts = queue === undefined ? d.attempts + 1 : d.attempts
            const delay = queue === undefined ? deadlineRetryDelay(options, attempts) : 0
            yield* attempt("retryDeadline", () =>
              handle.query(deadlineSql.retry, [
                d.key,
                d.kind,
                delay,
                JSON.stringify(d.payload),
                attempts,
                error instanceof Error ? error.message : String(error)
              ])
            )
            if (queue === undefined) options?.onError?.(error, d)
          }
          if (due.length > 0 && options?.beforeCommit) yield* options.beforeCommit(tx)
          return due.length
        })
        const exit = yield* Effect.exit(restore(run))
        if (Exit.isFailure(exit)) {
          yield* Effect.promise(() => handle.rollback())
          return yield* exit
        }
        yield* attempt("commit", () => handle.commit())
        deps.afterCommit(effects)
        for (const queue of missing) yield* attempt("createQueue", () => deps.ensureQueue(queue))
        return exit.value
      })
    )

  const run: StoreService["runDeadlines"] = (kindOrKinds, handler, options) =>
    Effect.gen(function* () {
      const kinds = typeof kindOrKinds === "string" ? [kindOrKinds] : [...kindOrKinds]
      const batchSize = Math.min(50, Math.max(1, options?.batchSize ?? 50))
      const maxWait = Math.min(notifyWindowMs, Math.max(1, options?.maxWaitMs ?? notifyWindowMs))
      yield* Effect.promise(ensureListening)
      const loop = Effect.gen(function* () {
        const waiter: Waiter = {
          kinds: new Set(kinds),
          plannedDue: undefined,
          signal: yield* Deferred.make<void>()
        }
        waiters.add(waiter)
        yield* Effect.addFinalizer(() => Effect.sync(() => waiters.delete(waiter)))
        let failures = 0
        const step = Effect.gen(function* () {
          const next = yield* nearest(kinds)
          if (next !== undefined && next.inMs <= 0) {
            let claimed = 0
            let total = 0
            do {
              claimed = yield* claimBatch(kinds, handler, options, batchSize, false).pipe(
                Effect.catchIf(
                  (e): e is Retry => e instanceof Retry,
                  () => claimBatch(kinds, handler, options, batchSize, true)
                )
              )
              total += claimed
            } while (claimed >= batchSize)
            // Due but taken by someone else between the two statements: do not spin on it.
            return total === 0 ? 20 : 0
          }
          waiter.plannedDue = next?.dueMs
          return next === undefined ? maxWait : Math.min(maxWait, Math.ceil(next.inMs) + 1)
        })
        for (;;) {
          // A fresh signal before looking: an arm that commits from here on wakes this loop.
          waiter.signal = yield* Deferred.make<void>()
          waiter.plannedDue = undefined
          const wait = yield* step.pipe(
            Effect.tap(() => {
              failures = 0
            }),
            Effect.catchAll((error) =>
              Effect.sync(() => {
                failures++
                // The database is away (restart, lost connection): nothing was lost, look again later.
                ;(options?.onError ?? deps.onBackgroundError)(error)
                return Math.min(30_000, 250 * 2 ** Math.min(failures, 7))
              })
            )
          )
          if (wait > 0) yield* Deferred.await(waiter.signal).pipe(Effect.timeoutOption(wait), Effect.asVoid)
        }
      }).pipe(Effect.scoped)
      for (let i = 0; i < Math.max(1, options?.concurrency ?? 1); i++) {
        const fiber = yield* Effect.forkDaemon(loop)
        fibers.add(fiber)
        yield* Effect.addFinalizer(() =>
          Effect.zipRight(
            Fiber.interrupt(fiber),
            Effect.sync(() => fibers.delete(fiber))
          )
        )
      }
    })

  return {
    run,
    armed,
    stop: async () => {
      stopped = true
      // Loops still running when the store closes would only fail against a closed pool.
      await Effect.runPromise(Fiber.interruptAll(fibers))
      const unlisten = await listening
      await unlisten?.().catch(deps.onBackgroundError)
    }
  }
}
