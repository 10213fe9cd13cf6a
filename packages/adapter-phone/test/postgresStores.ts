import type { StoreService } from "@dialogi/core"
import { postgresStore } from "@dialogi/store-postgres"
import { Effect } from "effect"
import { createTestDatabase, requiredDatabaseUrl } from "../../store-postgres/test/testDatabase.js"

/** One throwaway PostgreSQL database; every `open` is a new pool on it, as a (re)started process gets. */
export interface TestDatabase {
  readonly open: () => Promise<StoreService>
  /** Closes the stores `open` made that the hubs did not close, and drops the database. */
  readonly cleanup: () => Promise<void>
}

/**
 * A fresh database on the server of DATABASE_URL. Without DATABASE_URL this fails rather than
 * skips: the callback tests are about what survives a restart on the real server.
 */
export const createPostgresDatabase = async (): Promise<TestDatabase> => {
  const url = requiredDatabaseUrl()
  if (url === undefined)
    throw new Error(
      "[dialogi/phone tests] set DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test): callbacks are tested on PostgreSQL"
    )
  const database = await createTestDatabase(url)
  const opened: StoreService[] = []
  return {
    open: async () => {
      const store = await postgresStore({ connectionString: database.url, pool: { max: 4 } })
      opened.push(store)
      return store
    },
    cleanup: async () => {
      // A store a hub already closed may refuse a second close; the database is dropped anyway.
      for (const store of opened) await Effect.runPromise(store.close).catch(() => undefined)
      await database.drop()
    }
  }
}
