import type { IngestHook } from "@dialogi/core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type GraphServer, startGraphServer } from "./graphServer.js"
import { received, startHub } from "./hubHarness.js"
import { address, graphVersion, makeAdapter, mockPages, signed, textMessage } from "./meta.js"

let graph: GraphServer
beforeAll(async () => {
  graph = await startGraphServer(graphVersion, mockPages)
})
afterAll(async () => {
  await graph.close()
})

const noCasino: IngestHook = {
  name: "no-casino",
  run: (m) =>
    m.parts.some((p) => p._tag === "text" && /casino/i.test(p.text))
      ? { _tag: "veto", reason: "spam" }
      : undefined
}

describe("a message an ingest hook vetoed", () => {
  it("is handled: Meta gets 200 for the batch, the vetoed message is not stored, the rest is, one veto is recorded", async () => {
    const adapter = makeAdapter(graph)
    const hub = await startHub(adapter, false, { ingest: [noCasino] })
    try {
      const spam = JSON.parse(textMessage("m_spam", "Best casino bonus here")) as { entry: unknown[] }
      const real = JSON.parse(textMessage("m_real", "Where is my order?")) as { entry: unknown[] }
      const batch = JSON.stringify({ object: "page", entry: [...spam.entry, ...real.entry] })

      const response = await adapter.handleWebhook(signed(batch))
      expect(response.status).toBe(200)
      expect(await response.text()).toBe("EVENT_RECEIVED")

      expect((await received(hub)).map((m) => m.providerMessageId)).toEqual(["m_real"])
      const vetoes = (await hub.events.after(0)).flatMap((e) =>
        e.body._tag === "hook.ingest_vetoed" ? [e.body] : []
      )
      expect(vetoes).toEqual([
        expect.objectContaining({
          hook: "no-casino",
          reason: "spam",
          channel: "messenger",
          providerMessageId: "m_spam",
          address
        })
      ])
    } finally {
      await hub.close()
    }
  })
})
