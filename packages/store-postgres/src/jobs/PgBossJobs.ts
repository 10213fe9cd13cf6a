import type { DeadJob, Job, JobRetry, NewJob, QueuePolicy } from "@dialogi/core"
import { Effect, Exit } from "effect"
import { type Db, type JobWithMetadata, PgBoss } from "pg-boss"
import type { SqlDriver, SqlExecutor } from "../driver/SqlDriver.js"
import { jobIdForKey } from "./jobId.js"

/** Raised inside a transaction that enqueues onto a queue this instance has not created yet. */
export class QueueMissing {
  readonly _tag = "QueueMissing"
  constructor(readonly queue: string) {}
}

/** Options of the pg-boss job engine. */
export interface JobsOptions {
  /** The schema pg-boss installs into; default `dialogi_jobs`. */
  readonly schema?: string | undefined
  readonly onBackgroundError: (error: unknown) => void
}

// pg-boss is polled at its floor of 0.5 s so jobs from other instances start within a second;
// jobs enqueued by this instance wake its workers at once (see `wake`).
const pollingIntervalSeconds = 0.5
// Failed jobs stay this long for deadJobs and redrive.
const keepFailedSeconds = 30 * 24 * 3600
const defaultPolicy: QueuePolicy = { retryLimit: 0, retryDelayMs: 1000, backoff: false }

const asDatabase = (executor: SqlExecutor): Db => ({
  executeSql: async (text, values) => ({ rows: await executor.query(text, values) })
})

// pg-boss counts retry delays in whole seconds; shorter delays become "at the next poll".
const bossQueueOptions = (policy: QueuePolicy) => ({
  retryLimit: policy.retryLimit,
  retryDelay: Math.round(policy.retryDelayMs / 1000),
  retryBackoff: policy.backoff,
  ...(policy.backoff ? { retryDelayMax: 3600 } : {}),
  deleteAfterSeconds: keepFailedSeconds
})

const reasonOf = (output: unknown): string => {
  if (typeof output === "object" && output !== null && "message" in output) return String(output.message)
  return typeof output === "string" ? output : JSON.stringify(output)
}

/**
 * Durable jobs on pg-boss, in the same database as the store. Jobs are inserted through the
 * caller's transaction, so they commit or roll back with the change that needs them.
 */
export const makePgBossJobs = async (driver: SqlDriver, options: JobsOptions) => {
  const schema = options.schema ?? "dialogi_jobs"
  const boss = new PgBoss({
    db: asDatabase(driver),
    schema,
    ...(driver.name === "pglite" ? { backend: "pglite" as const } : {}),
    schedule: false
  })
  boss.on("error", options.onBackgroundError)
  await boss.start()

  const known = new Set<string>()
  const workers = new Map<string, Set<string>>()

  const ensureQueue = async (queue: string) => {
    if (known.has(queue)) return
    // Idempotent: another instance may have created it, with its own policy, which is kept.
    await boss.createQueue(queue, bossQueueOptions(defaultPolicy))
    known.add(queue)
  }

  return {
    known: (queue: string) => known.has(queue),
    ensureQueue,
    defineQueue: async (queue: string, policy: QueuePolicy) => {
      await boss.createQueue(queue, bossQueueOptions(policy))
      await boss.updateQueue(queue, bossQueueOptions(policy))
      known.add(queue)
    },
    /**
     * Inserts the job through `executor`. On PGlite the queue must already be known: looking it
     * up would need the single connection that the open transaction holds.
     */
    enqueue: async (executor: SqlExecutor, job: NewJob): Promise<void> => {
      if (!known.has(job.queue)) throw new QueueMissing(job.queue)
      await boss.send(job.queue, job.payload as object, {
        db: asDatabase(executor),
        ...(job.key === undefined ? {} : { id: jobIdForKey(job.queue, job.key) }),
        ...(job.runAt === undefined ? {} : { startAfter: job.runAt })
      })
    },
    /** Starts `handler` on `queue`; returns the function that stops it. */
    work: async (
      queue: string,
      handler: (job: Job) => Effect.Effect<void, JobRetry>,
      concurrency: number
    ): Promise<() => Promise<void>> => {
      const run = async ([bossJob]: JobWithMetadata<object>[]) => {
        if (bossJob === undefined) return
        const attempt = bossJob.retryCount + 1
        const job: Job = {
          id: bossJob.id,
          queue,
          payload: bossJob.data as Record<string, unknown>,
          attempt,
          lastAttempt: bossJob.retryCount >= bossJob.retryLimit
        }
        const exit = await Effect.runPromiseExit(handler(job))
        if (Exit.isSuccess(exit)) return
        const failure = exit.cause._tag === "Fail" ? exit.cause.error : undefined
        if (failure?.delayMs !== undefined && !job.lastAttempt) {
          // A provider's Retry-After beats the queue's backoff. pg-boss reads the delay from the
          // job row when it fails it, so it is set there first (pg-boss's own job table).
          await driver.query(
            `UPDATE ${schema}.job SET retry_delay = $3, retry_backoff = false WHERE name = $1 AND id = $2`,
            [queue, job.id, Math.ceil(failure.delayMs / 1000)]
          )
        }
        throw new Error(failure?.reason ?? String(exit.cause))
      }
      const id = await boss.work(
        queue,
        { batchSize: 1, includeMetadata: true, localConcurrency: concurrency, pollingIntervalSeconds },
        run
      )
      const ids = workers.get(queue) ?? new Set<string>()
      ids.add(id)
      workers.set(queue, ids)
      return async () => {
        ids.delete(id)
        await boss.offWork(queue, { id, wait: true })
      }
    },
    /** Wakes this instance's workers of `queue`, so a new job does not wait for the next poll. */
    wake: (queue: string) => {
      for (const id of workers.get(queue) ?? []) boss.notifyWorker(id)
    },
    deadJobs: async (queue: string): Promise<ReadonlyArray<DeadJob>> => {
      if (!known.has(queue) && (await boss.getQueue(queue)) === null) return []
      const jobs = (await boss.findJobs(queue)) as JobWithMetadata<object>[]
      return jobs
        .filter((j) => j.state === "failed")
        .map((j) => ({
          id: j.id,
          queue,
          payload: j.data as Record<string, unknown>,
          reason: reasonOf(j.output),
          attempts: j.retryCount + 1
        }))
    },
    stop: () => boss.stop({ graceful: true, timeout: 5000, close: false })
  }
}

/** The job engine the store uses. */
export type Jobs = Awaited<ReturnType<typeof makePgBossJobs>>
