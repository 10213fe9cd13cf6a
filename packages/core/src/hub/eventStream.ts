import { Chunk, Effect, Option, Queue, Stream } from "effect"
import type { StoreError } from "../domain/Errors.js"
import type { DialogiEvent } from "../domain/Event.js"
import type { StoreService } from "../store/Store.js"

const pageSize = 500
// Notifications can be lost (a LISTEN connection that reconnects); a slow poll bounds the delay.
const safetyPollMs = 5_000

/**
 * Every event after `cursor`, then new ones as they commit. The stream reads pages from the
 * store and only waits for a notification when it has caught up, so it never skips or repeats
 * an event whatever the notifications do.
 */
export const eventStream = (store: StoreService, cursor: number): Stream.Stream<DialogiEvent, StoreError> =>
  Stream.unwrapScoped(
    Effect.gen(function* () {
      const wake = yield* Effect.acquireRelease(Queue.sliding<number>(1), Queue.shutdown)
      const unsubscribe = store.watchEvents((head) => Queue.unsafeOffer(wake, head))
      yield* Effect.addFinalizer(() => Effect.sync(unsubscribe))
      return Stream.paginateChunkEffect(cursor, (after) =>
        Effect.gen(function* () {
          let page = yield* store.read((tx) => tx.eventsAfter(after, pageSize))
          while (page.length === 0) {
            yield* Queue.take(wake).pipe(Effect.timeoutOption(safetyPollMs))
            page = yield* store.read((tx) => tx.eventsAfter(after, pageSize))
          }
          return [Chunk.fromIterable(page), Option.some<number>(page[page.length - 1]!.seq)] as const
        })
      )
    })
  )
