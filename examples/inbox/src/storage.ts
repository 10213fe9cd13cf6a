import { mkdir } from "node:fs/promises"
import type { StoreService } from "@dialogi/core"
import { pgliteStore, postgresStore } from "@dialogi/store-postgres"
import { Redacted } from "effect"
import type { InboxConfig } from "./config.ts"

/** The opened store and a line that says where the data lives (never the password). */
export interface OpenedStore {
  readonly store: StoreService
  readonly description: string
}

/**
 * PostgreSQL when DATABASE_URL is set, else embedded PGlite in the data directory: the same
 * schema and migrations, so moving from the demo to a server is a setting, not a port.
 */
export const openStore = async (config: InboxConfig): Promise<OpenedStore> => {
  if (config.databaseUrl !== undefined) {
    const url = new URL(Redacted.value(config.databaseUrl))
    return {
      store: await postgresStore({ connectionString: config.databaseUrl }),
      description: `PostgreSQL ${url.host}${url.pathname}`
    }
  }
  const dataDir = `${config.dataDir}/pglite`
  await mkdir(dataDir, { recursive: true })
  return { store: await pgliteStore({ dataDir }), description: `PGlite in ${dataDir}` }
}
