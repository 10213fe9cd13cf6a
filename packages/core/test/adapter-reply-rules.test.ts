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

it("a text reply to a channel that carries no text is refused up front, whatever the adapter's own rule", async () => {
  // A voice-like channel: calls and voicemail in, no text out, and no checkReply of its own.
  const voice = createTestChannelAdapter({ channel: "voice", capabilities: { text: false } })
  const hub = await createHub({
    store: await Effect.runPromise(MemoryStore.makeMemoryStore()),
    adapters: [voice],
    log: () => {}
  })
  try {
    const { conversationId } = await hub.ingest({
      channel: "voice",
      providerMessageId: "CA1",
      from: { address: "+14155550100" },
      parts: [{ _tag: "text", text: "voicemail transcript" }],
      sentAt: Date.now()
    })
    expect(await hub.canReply(conversationId)).toEqual({
      ok: false,
      refusal: { _tag: "CapabilityMissing", channel: "voice", capability: "text" }
    })
    await expect(hub.reply(conversationId, "we called you back")).rejects.toMatchObject({
      _tag: "ReplyRefused"
    })
    expect((await hub.thread(conversationId)).messages).toHaveLength(1)
    expect(voice.sent).toHaveLength(0)
  } finally {
    await hub.close()
  }
})
