import { MemoryStore, type StoreService } from "@dialogi/core"
import { pgliteStore, postgresStore } from "@dialogi/store-postgres"
import { Effect } from "effect"
import { createTestDatabase, requiredDatabaseUrl } from "../../store-postgres/test/testDatabase.js"

/** A store kind the delivery tests run on, with the retry delay its job engine can honour. */
export interface StoreKind {
  readonly name: string
  readonly make: () => Promise<{
    readonly store: StoreService
    readonly reopen: () => Promise<StoreService>
    /** Closes what `reopen` opened and drops the test database. */
    readonly cleanup: () => Promise<void>
  }>
  /** pg-boss counts retry delays in whole seconds; the memory store in milliseconds. */
  readonly retryDelayMs: number
  /** Whether several sender instances can share it (PGlite is embedded in one process). */
  readonly multiInstance: boolean
}

const databaseUrl = requiredDatabaseUrl()

/** The memory store, PGlite and (when DATABASE_URL is set, always in CI) PostgreSQL. */
export const storeKinds: ReadonlyArray<StoreKind> = [
  {
    name: "memory",
    retryDelayMs: 100,
    // Two senders in one process share the store object.
    multiInstance: true,
    make: async () => {
      const store = await Effect.runPromise(MemoryStore.makeMemoryStore())
      // The memory store lives in the process: a "restart" of the sender keeps the same store.
      return { store, reopen: async () => store, cleanup: async () => {} }
    }
  },
  {
    name: "pglite",
    retryDelayMs: 1000,
    multiInstance: false,
    make: async () => {
      const store = await pgliteStore()
      return { store, reopen: async () => store, cleanup: async () => {} }
    }
  },
  ...(databaseUrl === undefined
    ? []
    : [
        {
          name: "postgres",
          retryDelayMs: 1000,
          multiInstance: true,
          make: async () => {
            const database = await createTestDatabase(databaseUrl)
            const store = await postgresStore({ connectionString: database.url })
            const reopened: StoreService[] = []
            return {
              store,
              // A second connection pool on the same database: what a restarted process gets.
              reopen: async () => {
                const again = await postgresStore({ connectionString: database.url })
                reopened.push(again)
                return again
              },
              cleanup: async () => {
                for (const again of reopened) await Effect.runPromise(again.close)
                await database.drop()
              }
            }
          }
        } satisfies StoreKind
      ])
]
