import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { routingSuite } from "@dialogi/core/testing"
import { pgliteStore, postgresStore } from "../src/index.js"
import { createTestDatabase, requiredDatabaseUrl } from "./testDatabase.js"

routingSuite("pglite", {
  restarts: true,
  make: async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "dialogi-routing-pglite-"))
    return {
      store: await pgliteStore({ dataDir }),
      reopen: () => pgliteStore({ dataDir }),
      cleanup: () => rm(dataDir, { recursive: true, force: true })
    }
  }
})

const databaseUrl = requiredDatabaseUrl()
if (databaseUrl !== undefined) {
  routingSuite("postgres", {
    restarts: true,
    make: async () => {
      const database = await createTestDatabase(databaseUrl)
      return {
        store: await postgresStore({ connectionString: database.url }),
        reopen: () => postgresStore({ connectionString: database.url }),
        cleanup: database.drop
      }
    }
  })
}
