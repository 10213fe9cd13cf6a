import { Effect, Schedule } from "effect"
import { InvalidInput, type StoreError, StoreError as StoreErrorClass } from "../../domain/Errors.js"
import type { StoreService, StoreTx } from "../../store/Store.js"
import type { AdapterRegistry } from "../AdapterRegistry.js"
import type { LogFn } from "./placement.js"
import type { ResolvedRoutingOptions } from "./RoutingOptions.js"

/** What every part of routing works with. */
export interface RoutingContext {
  readonly store: StoreService
  readonly registry: AdapterRegistry
  readonly options: ResolvedRoutingOptions
  readonly log: LogFn
  /** Runs `f` in one transaction, again on transient failures (a deadlock between instances). */
  readonly transaction: <A, E>(f: (tx: StoreTx) => Effect.Effect<A, E>) => Effect.Effect<A, E | StoreError>
}

/** Maps a Schema decoding failure to InvalidInput about `what`. */
export const invalidInput = (what: string) => (e: unknown) =>
  new InvalidInput({ what, message: e instanceof Error ? e.message : String(e) })

// Lock waits between instances can end in a deadlock the database breaks by failing one side;
// every attempt is a fresh transaction, so retrying is safe.
const retryTransient = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
  effect.pipe(
    Effect.retry({
      schedule: Schedule.exponential("20 millis").pipe(
        Schedule.jittered,
        Schedule.intersect(Schedule.recurs(8))
      ),
      while: (e: E) => e instanceof StoreErrorClass && e.transient
    })
  )

/** The context on a store. */
export const makeRoutingContext = (
  store: StoreService,
  registry: AdapterRegistry,
  options: ResolvedRoutingOptions,
  log: LogFn
): RoutingContext => ({
  store,
  registry,
  options,
  log,
  transaction: (f) => retryTransient(store.transaction(f))
})
