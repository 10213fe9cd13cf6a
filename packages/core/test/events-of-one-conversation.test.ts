import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { createHub, Hub, MemoryStore } from "../src/index.js"
import { createTestChannelAdapter } from "../src/testing/index.js"

const sms = (id: string, from: string, text: string) => ({
  channel: "sms",
  providerMessageId: id,
  from: { address: from },
  parts: [{ _tag: "text" as const, text }],
  sentAt: Date.now()
})

describe("events.after with a conversation", () => {
  it("the Promise front door reads one conversation's events after a cursor, paged, and refuses bad queries", async () => {
    const hub = await createHub({
      store: await Effect.runPromise(MemoryStore.makeMemoryStore()),
      adapters: [createTestChannelAdapter({ channel: "sms" })],
      log: () => {}
    })
    try {
      const a = await hub.ingest(sms("a1", "+358401111111", "hello"))
      const b = await hub.ingest(sms("b1", "+358402222222", "hi"))
      await hub.ingest(sms("a2", "+358401111111", "again"))
      await hub.note(b.conversationId, "internal", { _tag: "agent", id: "agent-1" })
      await hub.ingest(sms("a3", "+358401111111", "third"))

      const all = await hub.events.after(0, 5000)
      const ofA = all.filter((e) => e.conversationId === a.conversationId)
      expect(ofA.length).toBeGreaterThan(3)
      expect(all.length).toBeGreaterThan(ofA.length)

      const read = await hub.events.after(0, { conversationId: a.conversationId })
      expect(read).toEqual(ofA)
      // After a cursor in the middle of the conversation, and in pages.
      const middle = ofA[1]!.seq
      expect(await hub.events.after(middle, { conversationId: a.conversationId })).toEqual(ofA.slice(2))
      const paged = []
      let cursor = 0
      for (;;) {
        const page = await hub.events.after(cursor, { conversationId: a.conversationId, limit: 2 })
        expect(page.length).toBeLessThanOrEqual(2)
        paged.push(...page)
        if (page.length < 2) break
        cursor = page.at(-1)!.seq
      }
      expect(paged).toEqual(ofA)
      // A number is still the page size, and a query without a conversation is the whole log.
      expect(await hub.events.after(0, 2)).toEqual(all.slice(0, 2))
      expect(await hub.events.after(0, { limit: 3 })).toEqual(all.slice(0, 3))

      await expect(hub.events.after(-1, { conversationId: a.conversationId })).rejects.toMatchObject({
        _tag: "InvalidInput",
        what: "events cursor"
      })
      await expect(hub.events.after(0, { conversationId: "" })).rejects.toMatchObject({
        _tag: "InvalidInput",
        what: "events query"
      })
      await expect(hub.events.after(0, { limit: 0 })).rejects.toMatchObject({ _tag: "InvalidInput" })
      await expect(
        hub.events.after(0, { conversationId: 7 } as unknown as { conversationId: string })
      ).rejects.toMatchObject({ _tag: "InvalidInput" })
    } finally {
      await hub.close()
    }
  })

  it("the Effect front door filters by conversation and keeps InvalidInput in the error channel", async () => {
    const result = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const store = yield* MemoryStore.makeMemoryStore()
          const hub = yield* Hub.make(store, {
            adapters: [createTestChannelAdapter({ channel: "sms" })],
            log: () => {}
          })
          const a = yield* hub.ingest(sms("a1", "+358401111111", "hello"))
          yield* hub.ingest(sms("b1", "+358402222222", "hi"))
          yield* hub.ingest(sms("a2", "+358401111111", "again"))
          const all = yield* hub.eventsAfter(0)
          const ofA = yield* hub.eventsAfter(0, { conversationId: a.conversationId })
          const bad = yield* Effect.flip(hub.eventsAfter(0.5, { conversationId: a.conversationId }))
          return { all, ofA, bad, conversationId: a.conversationId }
        })
      )
    )
    expect(result.ofA.length).toBeGreaterThan(0)
    expect(result.ofA).toEqual(result.all.filter((e) => e.conversationId === result.conversationId))
    expect(result.bad._tag).toBe("InvalidInput")
  })
})
