import {
  type StoreError,
  StoreError as StoreErrorClass,
  type StoreService,
  type StoreTx,
  type TransactionOptions
} from "@dialogi/core"
import { Effect, Exit } from "effect"
import { makeDeadlineClaimer } from "./deadlines/DeadlineClaimer.js"
import type { SqlDriver, SqlExecutor } from "./driver/SqlDriver.js"
import { makePgBossJobs, QueueMissing } from "./jobs/PgBossJobs.js"
import { migrate } from "./migrations/migrate.js"
import { lockStatement, makeSqlTx, noEffects, type TxEffects } from "./sqlTx.js"
import { toStoreError } from "./storeError.js"

/** Options shared by the PostgreSQL and the PGlite store. */
export interface SqlStoreOptions {
  /** The schema pg-boss keeps its jobs in; default `dialogi_jobs`. */
  readonly jobsSchema?: string | undefined
  /** Errors with no caller to go to (a dropped idle connection, a failed poll). Default: ignored. */
  readonly onBackgroundError?: ((error: unknown) => void) | undefined
}

const eventsChannel = "dialogi_events"

const missingQueue = (error: unknown): string | undefined =>
  error instanceof StoreErrorClass && error.cause instanceof QueueMissing ? error.cause.queue : undefined

/**
 * The store on a {@link SqlDriver}: migrates, starts the job engine and, where other processes
 * can write to the same database (`listen`), follows their events through LISTEN.
 */
export const makeSqlStore = async (
  driver: SqlDriver,
  options: SqlStoreOptions & { readonly name: string; readonly listen: boolean }
): Promise<StoreService> => {
  const onBackgroundError = options.onBackgroundError ?? (() => {})
  await migrate(driver)
  const jobs = await makePgBossJobs(driver, { schema: options.jobsSchema, onBackgroundError })
  const listeners = new Set<(headSeq: number) => void>()
  const notify = (head: number) => {
    for (const listener of listeners) {
      try {
        listener(head)
      } catch (error) {
        onBackgroundError(error)
      }
    }
  }
  const afterCommit = (effects: TxEffects) => {
    if (effects.headSeq !== undefined) notify(effects.headSeq)
    for (const queue of effects.queues) jobs.wake(queue)
    if (effects.deadlines.size > 0) deadlines.armed(effects.deadlines)
  }
  const headNow = async () =>
    Number((await driver.query("SELECT seq FROM dialogi_event_head WHERE id = 1", []))[0]?.seq)

  let unlisten: (() => Promise<void>) | undefined
  if (options.listen) {
    try {
      unlisten = await driver.listen(
        eventsChannel,
        (payload) => notify(Number(payload)),
        // Notifications sent while the listener was down are gone; the head tells watchers to catch up.
        () => void headNow().then(notify, onBackgroundError)
      )
    } catch (error) {
      await jobs.stop()
      throw error
    }
  }

  const runTransaction = <A, E, R>(
    f: (tx: StoreTx) => Effect.Effect<A, E, R>,
    options?: TransactionOptions
  ) =>
    Effect.uninterruptibleMask((restore) =>
      Effect.gen(function* () {
        const locks = options?.locks === undefined ? [] : [...new Set(options.locks)].sort()
        const handle = yield* Effect.tryPromise({
          // Without locks BEGIN can always wait for the first statement; with them, only when asked.
          try: () =>
            driver.begin(locks.length === 0 ? undefined : lockStatement(locks), {
              lazy: locks.length === 0 || options?.locksWithFirstStatement === true
            }),
          catch: (error) => toStoreError("begin", error)
        })
        const effects: TxEffects = noEffects()
        const exit = yield* Effect.exit(restore(f(makeSqlTx(handle, jobs.enqueue, effects))))
        if (Exit.isFailure(exit)) {
          yield* Effect.promise(() => handle.rollback())
          return yield* exit
        }
        yield* Effect.tryPromise({
          try: () => handle.commit(),
          catch: (error) => toStoreError("commit", error)
        })
        afterCommit(effects)
        return exit.value
      })
    )

  const transaction: StoreService["transaction"] = (f, options) =>
    runTransaction(f, options).pipe(
      Effect.catchAll((error) => {
        const queue = missingQueue(error)
        if (queue === undefined) return Effect.fail(error)
        // The queue is created outside the transaction (PGlite's one connection is busy inside
        // it), then the whole transaction runs again.
        return Effect.tryPromise({
          try: () => jobs.ensureQueue(queue),
          catch: (cause) => toStoreError("createQueue", cause)
        }).pipe(Effect.zipRight(transaction(f, options)))
      })
    )

  const enqueueOutsideTransaction = async (
    executor: SqlExecutor,
    job: Parameters<typeof jobs.enqueue>[1]
  ) => {
    await jobs.ensureQueue(job.queue)
    await jobs.enqueue(executor, job)
  }

  const read: StoreService["read"] = (f) =>
    Effect.suspend(() => {
      const effects: TxEffects = noEffects()
      return f(makeSqlTx(driver, enqueueOutsideTransaction, effects)).pipe(
        Effect.tap(() => Effect.sync(() => afterCommit(effects)))
      )
    })

  const deadlines = makeDeadlineClaimer({
    driver,
    begin: async () => {
      const handle = await driver.begin()
      const effects = noEffects()
      return { handle, tx: makeSqlTx(handle, jobs.enqueue, effects), effects }
    },
    afterCommit,
    missingQueue,
    ensureQueue: (queue) => jobs.ensureQueue(queue),
    listen: options.listen,
    onBackgroundError
  })

  let closing: Promise<void> | undefined
  const close = () => {
    closing ??= (async () => {
      await deadlines.stop().catch(onBackgroundError)
      await unlisten?.().catch(onBackgroundError)
      await jobs.stop().catch(onBackgroundError)
      await driver.close().catch(onBackgroundError)
    })()
    return closing
  }

  const attempt = <A>(operation: string, f: () => Promise<A>): Effect.Effect<A, StoreError> =>
    Effect.tryPromise({ try: f, catch: (error) => toStoreError(operation, error) })

  return {
    name: options.name,
    transaction,
    read,
    watchEvents: (listener) => {
      listeners.add(listener)
      return () => {
        listeners.delete(listener)
      }
    },
    defineQueue: (queue, policy) => attempt("defineQueue", () => jobs.defineQueue(queue, policy)),
    work: (queue, handler, workOptions) =>
      Effect.asVoid(
        Effect.acquireRelease(
          attempt("work", () => jobs.work(queue, handler, Math.max(1, workOptions?.concurrency ?? 1))),
          (stop) => Effect.promise(() => stop().catch(onBackgroundError))
        )
      ),
    runDeadlines: deadlines.run,
    deadJobs: (queue) => attempt("deadJobs", () => jobs.deadJobs(queue)),
    close: Effect.promise(close)
  }
}
