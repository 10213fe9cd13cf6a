import { Effect } from "effect"
import { expect, it } from "vitest"
import { createHub, MemoryStore } from "../src/index.js"
import { createTestChannelAdapter } from "../src/testing/index.js"

const optedOut = new Set<string>()

it("an adapter's asynchronous rule refuses a reply up front; a rule that throws refuses too", async () => {
  const sms = {
    ...createTestChannelAdapter({ channel: "sms" }),
    checkReply: async ({ address }: { address: string }) => {
      await new Promise((resolve) => setTimeout(resolve, 5))
      if (address === "+14155550199") throw new Error("opt-out store unreachable")
      return optedOut.has(address)
        ? { _tag: "OptedOut" as const, channel: "sms", detail: "STOP received" }
        : undefined
    }
  }
  const hub = await createHub({
    store: await Effect.runPromise(MemoryStore.makeMemoryStore()),
    adapters: [sms],
    log: () => {}
  })
  try {
    const ingest = (from: string, id: string) =>
      hub.ingest({
        channel: "sms",
        providerMessageId: id,
        from: { address: from },
        parts: [{ _tag: "text", text: "hi" }],
        sentAt: Date.now()
      })
    const a = await ingest("+14155550100", "SM1")
    expect(await hub.canReply(a.conversationId)).toMatchObject({ ok: true, channel: "sms" })
    optedOut.add("+14155550100")
    expect(await hub.canReply(a.conversationId)).toMatchObject({ ok: false, refusal: { _tag: "OptedOut" } })
    await expect(hub.reply(a.conversationId, "still there?")).rejects.toMatchObject({ _tag: "ReplyRefused" })
    const b = await ingest("+14155550199", "SM2")
    expect(await hub.canReply(b.conversationId)).toMatchObject({
      ok: false,
      refusal: { _tag: "CheckFailed", channel: "sms" }
    })
    expect((await hub.thread(a.conversationId)).messages).toHaveLength(1)
  } finally {
    await hub.close()
  }
})
