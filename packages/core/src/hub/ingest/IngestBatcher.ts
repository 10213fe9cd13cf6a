import { Deferred, Effect, Queue, Schedule } from "effect"
import type { InboundEnvelope } from "../../adapter/InboundEnvelope.js"
import type { StoreError } from "../../domain/Errors.js"
import type { StoreService } from "../../store/Store.js"
import type { SlaEngine } from "../sla/SlaEngine.js"
import { takeConflictFree } from "./conflictFreeBatch.js"
import { ingestBatch, type OpenedHook } from "./ingestBatch.js"
import { type IngestResult, ingestLockKeys } from "./ingestOne.js"

interface Pending {
  readonly envelope: InboundEnvelope
  /** The envelope's lock keys (provider message, identities). */
  readonly keys: ReadonlyArray<string>
  readonly done: Deferred.Deferred<IngestResult, StoreError>
}

/** What the dispatcher hears: an envelope arrived, or a batch finished and let go of its keys. */
type Signal =
  | { readonly _tag: "arrived"; readonly pending: Pending }
  | { readonly _tag: "settled"; readonly keys: ReadonlyArray<string> }

/**
 * Group commit for ingest. A durable commit (one WAL flush) is the floor of every ingest, so
 * under load the envelopes waiting at that moment are written together in one transaction:
 * each caller still gets its answer only after its message is committed. With no load a batch
 * holds one envelope and latency is that of a single transaction. Up to `concurrency` batches
 * are in flight, and batches in flight never share a lock key (see {@link takeConflictFree}).
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
    const signals = yield* Effect.acquireRelease(Queue.unbounded<Signal>(), Queue.shutdown)

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
        // Taken in the round trip of the batch's first statement, its look-up.
        { locks: batch.flatMap((p) => p.keys), locksWithFirstStatement: true }
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

    // One fiber owns the waiting list and the keys in flight, so picking needs no locks. Batch
    // fibers are its children: they stop with it when the scope closes.
    const dispatcher = Effect.gen(function* () {
      let waiting: Pending[] = []
      const held = new Set<string>()
      let inFlight = 0
      for (;;) {
        for (const signal of yield* Queue.takeBetween(signals, 1, Number.MAX_SAFE_INTEGER)) {
          if (signal._tag === "arrived") waiting.push(signal.pending)
          else {
            inFlight -= 1
            for (const key of signal.keys) held.delete(key)
          }
        }
        while (inFlight < options.concurrency && waiting.length > 0) {
          const { batch, rest } = takeConflictFree(waiting, held, options.maxBatch)
          if (batch.length === 0) break
          waiting = [...rest]
          inFlight += 1
          const keys = [...new Set(batch.flatMap((p) => p.keys))]
          for (const key of keys) held.add(key)
          yield* Effect.fork(
            settle(batch).pipe(Effect.ensuring(Queue.offer(signals, { _tag: "settled", keys })))
          )
        }
      }
    })
    yield* Effect.forkScoped(dispatcher)

    const batcher: IngestBatcher = {
      ingest: (envelope) =>
        Effect.gen(function* () {
          const done = yield* Deferred.make<IngestResult, StoreError>()
          yield* Queue.offer(signals, {
            _tag: "arrived",
            pending: { envelope, keys: ingestLockKeys(envelope), done }
          })
          return yield* Deferred.await(done)
        })
    }
    return batcher
  })
