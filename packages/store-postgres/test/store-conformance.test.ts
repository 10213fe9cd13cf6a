import { storeSuite } from "@dialogi/core/testing"
import { pgliteStore, postgresStore } from "../src/index.js"
import { createTestDatabase, requiredDatabaseUrl } from "./testDatabase.js"

storeSuite("pglite in memory", async () => ({ store: await pgliteStore() }))

// PGlite on a data directory runs the same SQL; what the directory adds (data survives a
// reopen) is checked in pglite-data-survives-reopen.test.ts and by the hub suite, which runs on
// a data directory.

const databaseUrl = requiredDatabaseUrl()
if (databaseUrl !== undefined) {
  storeSuite("postgres", async () => {
    const database = await createTestDatabase(databaseUrl)
    return { store: await postgresStore({ connectionString: database.url }), cleanup: database.drop }
  })
}
