import type { StoreService } from "@dialogi/core"
import { postgresStore } from "@dialogi/store-postgres"
import { Effect } from "effect"
import pg from "pg"
import { createTestDatabase, requiredDatabaseUrl } from "../../store-postgres/test/testDatabase.js"

/** One throwaway PostgreSQL database; every `open` is a new pool on it, as a (re)started process gets. */
export interface TestDatabase {
  readonly url: string
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
    url: database.url,
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

/** What an outage or a failover does to every instance: all connections to the database are cut. */
export const dropConnections = async (url: string): Promise<number> => {
  const name = new URL(url).pathname.slice(1)
  const admin = new pg.Client({ connectionString: url })
  await admin.connect()
  try {
    const result = await admin.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
      [name]
    )
    return result.rowCount ?? 0
  } finally {
    await admin.end()
  }
}
