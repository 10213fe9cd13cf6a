import { Effect } from "effect"
import { expect, it } from "vitest"
import { Hub, MemoryStore } from "../src/index.js"
import { createTestChannelAdapter } from "../src/testing/index.js"

const message = (id: string, text: string) => ({
  channel: "sms",
  providerMessageId: id,
  from: { address: "+358401234567" },
  parts: [{ _tag: "text" as const, text }],
  sentAt: Date.now()
})

it("the Effect front door surveys on thumbs, takes answers and keeps typed errors in the error channel", async () => {
  const adapter = createTestChannelAdapter({ channel: "sms" })
  const result = await Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const store = yield* MemoryStore.makeMemoryStore()
        const hub = yield* Hub.make(store, {
          adapters: [adapter],
          csat: { scale: "thumbs", question: ({ scale }) => `Solved? (${scale})` },
          log: () => {}
        })
        const { conversationId } = yield* hub.ingest(message("s-1", "my bill is wrong"))
        yield* hub.setStatus(conversationId, "resolved")
        const none = yield* Effect.flip(hub.csat.answer(conversationId, { rating: 3 }))
        const answered = yield* hub.ingest(message("s-2", "👎 still wrong"))
        const again = yield* Effect.flip(hub.csat.answer(conversationId, { rating: "up" }))
        const [survey] = yield* hub.csat.surveys(conversationId)
        const report = yield* hub.reports.csat({
          from: new Date(0),
          to: new Date(Date.now() + 1000),
          groupBy: "channel"
        })
        // The survey goes out through the send worker: wait for it before the scope stops it.
        while (adapter.sent.length === 0) yield* Effect.sleep("10 millis")
        return { conversationId, none, answered, again, survey, report }
      })
    )
  )
  expect(result.none._tag).toBe("InvalidInput")
  expect(result.answered.conversationId).toBe(result.conversationId)
  expect(result.again._tag).toBe("NoPendingSurvey")
  expect(result.survey).toMatchObject({
    scale: "thumbs",
    rating: 0,
    satisfied: false,
    comment: "still wrong"
  })
  expect(result.report.rows).toMatchObject([
    { group: "sms", requested: 1, answered: 1, satisfied: 0, fiveAnswers: 0, averageFive: null, csatPct: 0 }
  ])
  expect(adapter.sent.map((s) => s.parts)).toContainEqual([{ _tag: "text", text: "Solved? (thumbs)" }])
})
