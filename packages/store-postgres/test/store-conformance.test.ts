import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { storeSuite } from "@dialogi/core/testing"
import { pgliteStore, postgresStore } from "../src/index.js"
import { createTestDatabase, requiredDatabaseUrl } from "./testDatabase.js"

storeSuite("pglite in memory", async () => ({ store: await pgliteStore() }))

storeSuite("pglite in a data directory", async () => {
  const dataDir = await mkdtemp(join(tmpdir(), "dialogi-pglite-"))
  return {
    store: await pgliteStore({ dataDir }),
    cleanup: () => rm(dataDir, { recursive: true, force: true })
  }
})

const databaseUrl = requiredDatabaseUrl()
if (databaseUrl !== undefined) {
  storeSuite("postgres", async () => {
    const database = await createTestDatabase(databaseUrl)
    return { store: await postgresStore({ connectionString: database.url }), cleanup: database.drop }
  })
}
