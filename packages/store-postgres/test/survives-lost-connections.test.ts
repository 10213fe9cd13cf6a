import { Contact, type ContactId, type DialogiEvent, StoreError } from "@dialogi/core"
import { Effect, Exit } from "effect"
import pg from "pg"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { postgresStore } from "../src/index.js"
import { createTestDatabase, requiredDatabaseUrl } from "./testDatabase.js"

const databaseUrl = requiredDatabaseUrl()

const contact = (id: string) =>
  new Contact({ id: id as ContactId, attributes: {}, identities: [], createdAt: new Date() })

// Runs only against a server (CI sets DATABASE_URL); an unreachable server fails the run.
describe.runIf(databaseUrl !== undefined)("postgres store after its connections die", () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>
  let admin: pg.Client
  beforeAll(async () => {
    database = await createTestDatabase(databaseUrl!)
    admin = new pg.Client({ connectionString: databaseUrl })
    await admin.connect()
  })
  afterAll(async () => {
    await admin?.end()
    await database?.drop()
  })

  const terminateAll = (name: string) =>
    admin.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
      [name]
    )

  it("keeps working on new connections and its watchers hear events again", async () => {
    const backgroundErrors: unknown[] = []
    const store = await postgresStore({
      connectionString: database.url,
      onBackgroundError: (error) => backgroundErrors.push(error)
    })
    try {
      const heads: number[] = []
      store.watchEvents((head) => heads.push(head))
      const append = (id: string) =>
        Effect.runPromiseExit(
          store.transaction((tx) =>
            Effect.zipRight(
              tx.insertContacts([contact(id)]),
              tx.appendEvents(
                [{ _tag: "contact.created", contactId: id as ContactId, contact: contact(id) }],
                new Date()
              )
            )
          )
        )
      expect(Exit.isSuccess(await append("before"))).toBe(true)

      const name = new URL(database.url).pathname.slice(1)
      const { rowCount } = await terminateAll(name)
      expect(rowCount).toBeGreaterThan(0)

      // A statement may still meet a connection that died a moment ago: that failure is transient.
      let exit = await append("after")
      for (let i = 0; i < 5 && Exit.isFailure(exit); i++) {
        const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
        expect(error).toBeInstanceOf(StoreError)
        expect((error as StoreError).transient).toBe(true)
        await new Promise((r) => setTimeout(r, 100))
        exit = await append("after")
      }
      expect(Exit.isSuccess(exit)).toBe(true)
      const found = await Effect.runPromise(store.read((tx) => tx.getContact("after" as ContactId)))
      expect(found?.id).toBe("after")

      // The LISTEN connection reconnects by itself: another instance's events reach this one.
      const other = await postgresStore({ connectionString: database.url })
      try {
        const seen = heads.length
        await new Promise((r) => setTimeout(r, 1000))
        const events: ReadonlyArray<DialogiEvent> = await Effect.runPromise(
          other.transaction((tx) =>
            tx.appendEvents([{ _tag: "conversation.resolved", conversationId: "k" as never }], new Date())
          )
        )
        const deadline = Date.now() + 10_000
        while (!heads.slice(seen).includes(events[0]!.seq) && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 50))
        expect(heads.slice(seen)).toContain(events[0]!.seq)
      } finally {
        await Effect.runPromise(other.close)
      }
      expect(backgroundErrors.length).toBeGreaterThan(0)
    } finally {
      await Effect.runPromise(store.close)
    }
  })

  it("fails with a transient StoreError while the server is unreachable", async () => {
    const store = await postgresStore({
      connectionString: "postgres://postgres@127.0.0.1:1/none",
      pool: {}
    }).catch((error: unknown) => error)
    expect(store).toBeInstanceOf(StoreError)
    expect((store as StoreError).transient).toBe(true)
  })
})
