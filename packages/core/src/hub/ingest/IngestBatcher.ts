import { Deferred, Effect, Queue, Schedule } from "effect"
import type { InboundEnvelope } from "../../adapter/InboundEnvelope.js"
import type { StoreError } from "../../domain/Errors.js"
import type { StoreService } from "../../store/Store.js"
import type { SlaEngine } from "../sla/SlaEngine.js"
import { ingestBatch, type OpenedHook } from "./ingestBatch.js"
import { type IngestResult, ingestLockKeys } from "./ingestOne.js"

interface Pending {
  readonly envelope: InboundEnvelope
  readonly done: Deferred.Deferred<IngestResult, StoreError>
}

/**
 * Group commit for ingest. A durable commit (one WAL flush) is the floor of every ingest, so
 * under load the envelopes waiting at that moment are written together in one transaction:
 * each caller still gets its answer only after its message is committed. With no load a batch
 * holds one envelope and latency is that of a single transaction.
 */
export interface IngestBatcher {
  readonly ingest: (envelope: InboundEnvelope) => Effect.Effect<IngestResult, StoreError>
}

// Deadlocks and lost connections are worth retrying: every attempt is a fresh transaction.
const transientRetry = Schedule.exponential("20 millis").pipe(
  Schedule.jittered,
  Schedule.intersect(Schedule.recurs(6))
)

/** Starts the batching workers; they stop with the enclosing scope. */
export const makeIngestBatcher = (
  store: StoreService,
  options: {
    maxBatch: number
    concurrency: number
    sla?: SlaEngine | undefined
    /** Told, in the batch's transaction, which conversations the batch opened (routing arms their routing). */
    onOpened?: OpenedHook | undefined
  }
) =>
  Effect.gen(function* () {
    const queue = yield* Effect.acquireRelease(Queue.unbounded<Pending>(), Queue.shutdown)

    const writeBatch = (batch: ReadonlyArray<Pending>) =>
      store.transaction(
        (tx) =>
          ingestBatch(
            tx,
            batch.map((p) => p.envelope),
            new Date(),
            options.sla,
            options.onOpened
          ),
        // Taken in the round trip that opens the transaction.
        { locks: batch.flatMap((p) => ingestLockKeys(p.envelope)) }
      )

    const settle = (batch: ReadonlyArray<Pending>): Effect.Effect<void> =>
      writeBatch(batch).pipe(
        Effect.retry({ schedule: transientRetry, while: (e) => e.transient }),
        Effect.matchEffect({
          onSuccess: (results) =>
            Effect.forEach(batch, (pending, i) => Deferred.succeed(pending.done, results[i]!), {
              discard: true
            }),
          // One bad envelope must not fail its neighbours: split and write each on its own.
          onFailure: (error) =>
            batch.length === 1
              ? Deferred.fail(batch[0]!.done, error)
              : Effect.forEach(batch, (pending) => settle([pending]), { discard: true })
        })
      )

    const worker = Effect.forever(
      Queue.takeBetween(queue, 1, options.maxBatch).pipe(Effect.flatMap((chunk) => settle([...chunk])))
    )
    yield* Effect.forkScoped(
      Effect.all(
        Array.from({ length: options.concurrency }, () => worker),
        { concurrency: "unbounded" }
      )
    )

    const batcher: IngestBatcher = {
      ingest: (envelope) =>
        Effect.gen(function* () {
          const done = yield* Deferred.make<IngestResult, StoreError>()
          yield* Queue.offer(queue, { envelope, done })
          return yield* Deferred.await(done)
        })
    }
    return batcher
  })
