import { mkdir } from "node:fs/promises"
import { Store, StoreError, type StoreService } from "@dialogi/core"
import { PGlite } from "@electric-sql/pglite"
import { Effect, Layer, type Scope } from "effect"
import { makePgliteDriver } from "./driver/pgliteDriver.js"
import { makeSqlStore, type SqlStoreOptions } from "./SqlStore.js"
import { toStoreError } from "./storeError.js"

/** Where the embedded database lives. */
export interface PgliteStoreOptions extends SqlStoreOptions {
  /** A data directory, kept across restarts; omitted = in memory. Ignored when `db` is given. */
  readonly dataDir?: string | undefined
  /** An open PGlite instance to use; the store then leaves closing it to the caller. */
  readonly db?: PGlite | undefined
}

/**
 * The store on embedded PGlite: the same schema, migrations and jobs as on PostgreSQL, no
 * server. One process owns a data directory. Close it with `store.close`.
 */
export const pgliteStore = async (options: PgliteStoreOptions = {}): Promise<StoreService> => {
  // PGlite creates the data directory but not its parents: "./.data/dialogi" failed on a fresh
  // checkout. Scheme-prefixed locations (memory://, idb://) are PGlite's own business.
  if (options.db === undefined && options.dataDir !== undefined && !options.dataDir.includes("://"))
    await mkdir(options.dataDir, { recursive: true })
  const db =
    options.db ?? (await PGlite.create(options.dataDir === undefined ? {} : { dataDir: options.dataDir }))
  const driver = makePgliteDriver(db, { closeDb: options.db === undefined })
  try {
    // LISTEN would only hear this process, which already tells its watchers directly.
    return await makeSqlStore(driver, { ...options, name: "pglite", listen: false })
  } catch (error) {
    await driver.close().catch(() => {})
    throw toStoreError("opening the PGlite store", error)
  }
}

/** The PGlite store as a scoped Effect; closing the scope closes the store. */
export const make = (
  options: PgliteStoreOptions = {}
): Effect.Effect<StoreService, StoreError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: () => pgliteStore(options),
      catch: (error) =>
        error instanceof StoreError ? error : toStoreError("opening the PGlite store", error)
    }),
    (store) => store.close
  )

/** A layer providing the {@link Store} on PGlite. */
export const layer = (options: PgliteStoreOptions = {}): Layer.Layer<Store, StoreError> =>
  Layer.scoped(Store, make(options))
