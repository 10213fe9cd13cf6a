import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createHub } from "@dialogi/core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { postgresStore } from "../../store-postgres/src/index.js"
import { createTestDatabase, requiredDatabaseUrl } from "../../store-postgres/test/testDatabase.js"
import {
  createEmailAdapter,
  fileKeyValueStore,
  type HealthEvent,
  memoryAttachmentStore
} from "../src/index.js"
import {
  customerMail,
  eventually,
  imapAccount,
  plainSmtp,
  startDovecot,
  storedProviderIds as storedIds
} from "./emailTestKit.js"

// A hub restart only means something when the messages outlive the process: this test runs on
// PostgreSQL and fails (never skips) without it.
const serverUrl = requiredDatabaseUrl()
if (serverUrl === undefined)
  throw new Error(
    "[dialogi/email] set DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test): this test restarts a hub over one PostgreSQL database"
  )

let database: Awaited<ReturnType<typeof createTestDatabase>>
let dovecot: Awaited<ReturnType<typeof startDovecot>>
let stateDir: string

beforeAll(async () => {
  database = await createTestDatabase(serverUrl)
  dovecot = await startDovecot()
  stateDir = await mkdtemp(join(tmpdir(), "dialogi-email-restart-"))
})

afterAll(async () => {
  await dovecot?.stop()
  await database?.drop()
  if (stateDir) await rm(stateDir, { recursive: true, force: true })
})

/** One process's worth: a hub on the shared database, the email adapter on the shared state dir. */
const startProcess = async () => {
  const health: Array<HealthEvent> = []
  const adapter = createEmailAdapter({
    address: "support@example.com",
    threadingSecret: "hub-restart-secret",
    imap: { ...imapAccount(dovecot), idleDelayMs: 300, pollIntervalMs: 1000, batchSize: 20 },
    smtp: plainSmtp(1),
    state: fileKeyValueStore(stateDir),
    attachments: { store: memoryAttachmentStore() },
    onHealth: (e) => health.push(e)
  })
  const hub = await createHub({
    store: await postgresStore({ connectionString: database.url, pool: { max: 4 } }),
    adapters: [adapter],
    runWorkers: false,
    log: () => undefined
  })
  /** Mails this process's watcher handed to the hub (each `synced` counts the mails of one sync). */
  const handled = () => health.reduce((n, e) => n + (e.kind === "synced" ? e.stored : 0), 0)
  return { hub, health, handled }
}

describe("restarting the hub in the middle of reading a backlog", () => {
  it("the new process resumes at the saved cursor: all mail stored once, only the unread part read again", async () => {
    const total = 300
    let next = 0
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        while (next < total) {
          const i = next++
          await dovecot.deliver(
            "support@example.com",
            customerMail({
              messageId: `hub-restart-${i}@customer.example`,
              from: `h${i % 29}@customer.example`
            })
          )
        }
      })
    )

    const first = await startProcess()
    await eventually(async () => ((await storedIds(first.hub)).length >= 60 ? true : undefined), 60_000)
    await first.hub.close()

    // What the first process committed, read from the database by a hub without adapters.
    const reader = await createHub({
      store: await postgresStore({ connectionString: database.url, pool: { max: 2 } }),
      adapters: [],
      runWorkers: false,
      log: () => undefined
    })
    const committedBefore = (await storedIds(reader)).length
    await reader.close()
    // The restart really cut into the backlog.
    expect(committedBefore).toBeGreaterThan(0)
    expect(committedBefore).toBeLessThan(total)

    const second = await startProcess()
    try {
      const ids = await eventually(async () => {
        const got = await storedIds(second.hub)
        return got.length >= total ? got : undefined
      }, 90_000)
      expect(ids).toHaveLength(total)
      expect(new Set(ids)).toEqual(
        new Set(Array.from({ length: total }, (_, i) => `hub-restart-${i}@customer.example`))
      )
      // Resumed from the cursor, not from the start: at most the one mail committed just before
      // the cursor write that the shutdown cut off is read (and deduped) again.
      await eventually(async () => (second.handled() >= total - committedBefore ? true : undefined), 30_000)
      expect(second.handled()).toBeLessThanOrEqual(total - committedBefore + 1)
    } finally {
      await second.hub.close()
    }
  }, 180_000)
})
