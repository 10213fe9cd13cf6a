import { type AdapterContext, createHub, type IngestHook, MemoryStore, StoreError } from "@dialogi/core"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { received, startHub } from "./hubHarness.js"
import { address, makeAdapter, mockGraphForFile, signed, textMessage } from "./meta.js"

const batchOf = (...bodies: string[]) =>
  JSON.stringify({
    object: "page",
    entry: bodies.flatMap((b) => (JSON.parse(b) as { entry: unknown[] }).entry)
  })

const graph = await mockGraphForFile()

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

  it("is not vetoed again, nor are the hooks of stored messages run again, when Meta retries the batch", async () => {
    const runs = new Map<string, number>()
    const counting: IngestHook = {
      name: "counting",
      run: (m) => void runs.set(m.providerMessageId, (runs.get(m.providerMessageId) ?? 0) + 1)
    }
    const adapter = makeAdapter(graph)
    // The store fails once for the batch's last message, so the batch answers 503 and Meta
    // sends it again whole.
    let failed = false
    const flaky = (context: AdapterContext): AdapterContext => ({
      ...context,
      ingest: async (envelope) => {
        if (envelope.providerMessageId === "m_later" && !failed) {
          failed = true
          throw new StoreError({ message: "connection lost", transient: true })
        }
        return context.ingest(envelope)
      }
    })
    const hub = await createHub({
      store: await Effect.runPromise(MemoryStore.makeMemoryStore()),
      adapters: [{ ...adapter, start: (context) => adapter.start!(flaky(context)) }],
      runWorkers: false,
      hooks: { ingest: [noCasino, counting] },
      log: () => {}
    })
    try {
      const batch = batchOf(
        textMessage("m_spam_again", "casino night!"),
        textMessage("m_kept", "Where is my order?"),
        textMessage("m_later", "Hello?")
      )
      expect((await adapter.handleWebhook(signed(batch))).status).toBe(503)
      expect((await adapter.handleWebhook(signed(batch))).status).toBe(200)

      expect((await received(hub)).map((m) => m.providerMessageId)).toEqual(["m_kept", "m_later"])
      const vetoes = (await hub.events.after(0)).filter((e) => e.body._tag === "hook.ingest_vetoed")
      expect(vetoes).toHaveLength(1)
      // noCasino vetoes first, so the counting hook never saw the spam.
      expect(Object.fromEntries(runs)).toEqual({ m_kept: 1, m_later: 1 })
    } finally {
      await hub.close()
    }
  })
})
