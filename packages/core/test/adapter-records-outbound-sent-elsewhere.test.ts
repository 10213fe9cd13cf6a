import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { type AdapterContext, type ChannelAdapter, createHub, MemoryStore } from "../src/index.js"

/** An inbound-only channel that keeps the context the hub gives it. */
const capturingAdapter = () => {
  let context: AdapterContext | undefined
  const adapter: ChannelAdapter = {
    channel: "inbox",
    capabilities: {
      text: true,
      html: false,
      attachments: false,
      typing: false,
      readReceipts: false,
      deliveryReceipts: false,
      canInitiate: false
    },
    start: async (ctx) => {
      context = ctx
    },
    send: async () => ({ providerMessageId: "unused" })
  }
  return {
    adapter,
    context: () => context as AdapterContext & Required<Pick<AdapterContext, "recordOutbound">>
  }
}

describe("AdapterContext.recordOutbound", () => {
  it("stores a message sent outside dialogi in the contact's open conversation as sent, once", async () => {
    const { adapter, context } = capturingAdapter()
    const hub = await createHub({
      store: await Effect.runPromise(MemoryStore.makeMemoryStore()),
      adapters: [adapter],
      runWorkers: false,
      log: () => {}
    })
    try {
      const received = await context().ingest({
        channel: "inbox",
        providerMessageId: "in-1",
        from: { address: "customer-1", verified: true },
        parts: [{ _tag: "text", text: "hello?" }],
        sentAt: Date.now() - 1000
      })
      const record = {
        channel: "inbox",
        to: "customer-1",
        providerMessageId: "out-1",
        parts: [{ _tag: "text" as const, text: "answered elsewhere" }],
        author: { _tag: "agent" as const, id: "someone" },
        sentAt: Date.now()
      }
      const first = await context().recordOutbound(record)
      expect(first).toMatchObject({ conversationId: received.conversationId, duplicate: false })
      expect(await context().recordOutbound(record)).toEqual({ ...first, duplicate: true })

      const thread = await hub.thread(received.conversationId)
      expect(thread.messages.map((m) => [m.direction, m.author, m.status, m.providerMessageId])).toEqual([
        ["inbound", { _tag: "contact" }, { _tag: "received" }, "in-1"],
        ["outbound", { _tag: "agent", id: "someone" }, { _tag: "sent" }, "out-1"]
      ])
      const tags = (await hub.events.after(0)).map((e) => e.body._tag)
      expect(tags.filter((t) => t.startsWith("message."))).toEqual([
        "message.received",
        "message.queued",
        "message.sent"
      ])
      await expect(
        context().recordOutbound({ ...record, to: "stranger", providerMessageId: "out-2" })
      ).rejects.toMatchObject({
        _tag: "NotFound",
        entity: "contact"
      })
    } finally {
      await hub.close()
    }
  })
})
