import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Contact, type ContactId } from "@dialogi/core"
import { Effect } from "effect"
import { expect, it } from "vitest"
import { pgliteStore } from "../src/index.js"

it("keeps contacts, events and queued jobs in a PGlite data directory across reopen", async () => {
  const dataDir = await mkdtemp(join(tmpdir(), "dialogi-reopen-"))
  try {
    // A nested directory that does not exist yet: the store creates its parents.
    const nested = join(dataDir, "not", "yet", "there")
    const first = await pgliteStore({ dataDir: nested })
    await Effect.runPromise(
      first.transaction((tx) =>
        Effect.gen(function* () {
          yield* tx.insertContacts([
            new Contact({
              id: "c1" as ContactId,
              attributes: { a: 1 },
              identities: [],
              createdAt: new Date(1000)
            })
          ])
          yield* tx.appendEvents(
            [{ _tag: "conversation.resolved", conversationId: "k" as never }],
            new Date(2000)
          )
          yield* tx.enqueueJob({ queue: "later", payload: { n: 1 } })
        })
      )
    )
    await Effect.runPromise(first.close)

    const second = await pgliteStore({ dataDir: nested })
    try {
      expect(
        (await Effect.runPromise(second.read((tx) => tx.getContact("c1" as ContactId))))?.attributes
      ).toEqual({
        a: 1
      })
      const [appended] = await Effect.runPromise(
        second.transaction((tx) =>
          tx.appendEvents([{ _tag: "conversation.resolved", conversationId: "k" as never }], new Date(3000))
        )
      )
      expect(appended?.seq).toBe(2)
      const ran: unknown[] = []
      await Effect.runPromise(
        Effect.scoped(
          Effect.gen(function* () {
            yield* second.work("later", (job) => Effect.sync(() => void ran.push(job.payload)))
            const deadline = Date.now() + 5000
            while (ran.length === 0 && Date.now() < deadline) yield* Effect.sleep("50 millis")
          })
        )
      )
      expect(ran).toEqual([{ n: 1 }])
    } finally {
      await Effect.runPromise(second.close)
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true })
  }
})
