import { Store, StoreError, type StoreService } from "@dialogi/core"
import { Effect, Layer, Redacted, type Scope } from "effect"
import type pg from "pg"
import { makePgDriver } from "./driver/pgDriver.js"
import { makeSqlStore, type SqlStoreOptions } from "./SqlStore.js"
import { toStoreError } from "./storeError.js"

/** How to reach PostgreSQL. */
export interface PostgresStoreOptions extends SqlStoreOptions {
  /** `postgres://user:password@host:5432/db`; may be `Redacted` so it never lands in logs. */
  readonly connectionString?: string | Redacted.Redacted<string> | undefined
  /** Passed to `pg.Pool` (size, timeouts, ssl); `max` defaults to 10. */
  readonly pool?: pg.PoolConfig | undefined
}

/**
 * The store on a PostgreSQL server. Several app instances may share one database: jobs are
 * claimed once, and each instance's `watchEvents` hears the others' events through LISTEN.
 * Close it with `store.close`.
 */
export const postgresStore = async (options: PostgresStoreOptions): Promise<StoreService> => {
  const connectionString =
    options.connectionString === undefined || typeof options.connectionString === "string"
      ? options.connectionString
      : Redacted.value(options.connectionString)
  const driver = makePgDriver({
    connectionString,
    pool: options.pool,
    onBackgroundError: options.onBackgroundError
  })
  try {
    return await makeSqlStore(driver, { ...options, name: "postgres", listen: true })
  } catch (error) {
    await driver.close().catch(() => {})
    throw toStoreError("opening the PostgreSQL store", error)
  }
}

/** The PostgreSQL store as a scoped Effect; closing the scope closes the store. */
export const make = (options: PostgresStoreOptions): Effect.Effect<StoreService, StoreError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: () => postgresStore(options),
      catch: (error) =>
        error instanceof StoreError ? error : toStoreError("opening the PostgreSQL store", error)
    }),
    (store) => store.close
  )

/** A layer providing the {@link Store} on PostgreSQL. */
export const layer = (options: PostgresStoreOptions): Layer.Layer<Store, StoreError> =>
  Layer.scoped(Store, make(options))
