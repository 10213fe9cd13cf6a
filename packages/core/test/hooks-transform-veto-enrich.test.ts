import { Effect } from "effect"
import { afterEach, describe, expect, it } from "vitest"
import {
  createHub,
  type DialogiEvent,
  type DialogiHub,
  type HookOptions,
  type IngestHookContext,
  MemoryStore,
  type MessagePart,
  redactCardNumbers,
  redactCardNumbersInText
} from "../src/index.js"
import { createTestChannelAdapter, type TestChannelAdapter } from "../src/testing/index.js"

const card = "4111 1111 1111 1111"
const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f()
})

const open = async (hooks: HookOptions): Promise<{ hub: DialogiHub; adapter: TestChannelAdapter }> => {
  const adapter = createTestChannelAdapter({ channel: "chat" })
  const hub = await createHub({
    store: await Effect.runPromise(MemoryStore.makeMemoryStore()),
    adapters: [adapter],
    hooks,
    log: () => {}
  })
  cleanups.push(() => hub.close())
  return { hub, adapter }
}

let sequence = 0
const inbound = (text: string, from = "visitor-1") => ({
  channel: "chat",
  providerMessageId: `m-${++sequence}`,
  from: { address: from },
  parts: [{ _tag: "text" as const, text }],
  sentAt: Date.now()
})

const events = async (hub: DialogiHub): Promise<DialogiEvent[]> => [...(await hub.events.after(0, 5000))]
const ofTag = (all: ReadonlyArray<DialogiEvent>, tag: string) => all.filter((e) => e.body._tag === tag)
const waitFor = async (check: () => boolean, timeoutMs = 5000) => {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not reached in time")
    await new Promise((r) => setTimeout(r, 20))
  }
}
const textOf = (parts: ReadonlyArray<MessagePart>) =>
  parts.map((p) => (p._tag === "text" ? p.text : "")).join("")

describe("redactCardNumbersInText", () => {
  it("replaces Luhn-valid card numbers however grouped and leaves other long numbers alone", () => {
    expect(redactCardNumbersInText(`pay with ${card} please`)).toBe("pay with [card ending 1111] please")
    expect(redactCardNumbersInText("5500-0000-0000-0004")).toBe("[card ending 0004]")
    expect(redactCardNumbersInText("378282246310005")).toBe("[card ending 0005]")
    // Same length, fails the Luhn check: an order number, kept.
    expect(redactCardNumbersInText("order 4111 1111 1111 1112")).toBe("order 4111 1111 1111 1112")
    expect(redactCardNumbersInText("call +358 40 123 4567")).toBe("call +358 40 123 4567")
  })
})

describe("ingest hooks", () => {
  it("run in order, each seeing the parts the previous one left, before anything is stored", async () => {
    const seen: string[] = []
    const { hub } = await open({
      ingest: [
        { name: "redact", run: redactCardNumbers },
        {
          name: "observer",
          run: (context: IngestHookContext) => {
            seen.push(textOf(context.parts))
            return undefined
          }
        }
      ]
    })
    const result = await hub.ingest(inbound(`my card is ${card}`))
    expect(seen).toEqual(["my card is [card ending 1111]"])
    const thread = await hub.thread(result.conversationId)
    expect(textOf(thread.messages[0]!.parts)).toBe("my card is [card ending 1111]")
    expect(JSON.stringify(await events(hub))).not.toContain("1111 1111")
  })

  it("a veto stores no message, records the envelope's facts as an event and fails typed", async () => {
    const { hub, adapter } = await open({
      ingest: [
        {
          name: "no-spam",
          run: (c) => (textOf(c.parts).includes("casino") ? { _tag: "veto", reason: "spam" } : undefined)
        }
      ]
    })
    const first = await hub.ingest(inbound("hello", "visitor-9"))
    const spam = inbound("win at the casino", "visitor-9")
    await expect(hub.ingest(spam)).rejects.toMatchObject({
      _tag: "HookVetoed",
      hook: "no-spam",
      reason: "spam"
    })
    const thread = await hub.thread(first.conversationId)
    expect(thread.messages.map((m) => textOf(m.parts))).toEqual(["hello"])
    const [vetoed] = ofTag(await events(hub), "hook.ingest_vetoed")
    expect(vetoed?.body).toMatchObject({
      hook: "no-spam",
      reason: "spam",
      senderContactId: first.contactId,
      channel: "chat",
      providerMessageId: spam.providerMessageId,
      address: "visitor-9"
    })
    // Through a webhook the provider is told we have it (2xx): a retry would be vetoed again.
    const response = await hub.webhook("chat")(
      adapter.signedRequest({ id: "w-1", from: "visitor-9", text: "casino bonus" })
    )
    expect(response.status).toBe(200)
    expect(ofTag(await events(hub), "hook.ingest_vetoed")).toHaveLength(2)
  })

  it("a failing hook is recorded and skipped: the message is stored with the other hooks' changes", async () => {
    const { hub } = await open({
      ingest: [
        {
          name: "broken",
          run: () => {
            throw new Error("boom")
          }
        },
        { name: "rejects", run: () => Promise.reject(new Error("later boom")) },
        { name: "garbage", run: () => ({ _tag: "nonsense" }) as never },
        { name: "redact", run: redactCardNumbers }
      ]
    })
    const result = await hub.ingest(inbound(`card ${card}`))
    const thread = await hub.thread(result.conversationId)
    expect(textOf(thread.messages[0]!.parts)).toBe("card [card ending 1111]")
    const failed = ofTag(await events(hub), "hook.ingest_failed").map((e) => e.body)
    expect(failed.map((b) => (b as { hook: string }).hook)).toEqual(["broken", "rejects", "garbage"])
    expect(failed[0]).toMatchObject({
      message: "boom",
      conversationId: result.conversationId,
      messageId: result.messageId
    })
  })

  it("enriches the conversation with tags and priority (Effect form), once per stored message", async () => {
    const { hub } = await open({
      ingest: [
        {
          name: "vip",
          run: (c) =>
            Effect.succeed(
              c.from.address === "vip-1"
                ? { _tag: "continue" as const, addTags: ["vip"], priority: "high" as const }
                : undefined
            )
        },
        { name: "lang", run: async () => ({ _tag: "continue", addTags: ["fi", "vip"] }) }
      ]
    })
    const message = inbound("moi", "vip-1")
    const result = await hub.ingest(message)
    const { conversation } = await hub.thread(result.conversationId)
    expect(conversation.tags).toEqual(["vip", "fi"])
    expect(conversation.priority).toBe("high")
    const [enriched] = ofTag(await events(hub), "conversation.enriched")
    expect(enriched?.body).toMatchObject({
      hooks: ["vip", "lang"],
      addedTags: ["vip", "fi"],
      priority: { from: "normal", to: "high" }
    })
    expect((await hub.ingest(message)).duplicate).toBe(true)
    expect(ofTag(await events(hub), "conversation.enriched")).toHaveLength(1)
  })
})

describe("send hooks", () => {
  it("redact before the reply is stored and before it goes on the wire", async () => {
    const { hub, adapter } = await open({ send: [{ name: "redact", run: redactCardNumbers }] })
    const { conversationId } = await hub.ingest(inbound("what card do you have on file?"))
    const reply = await hub.reply(conversationId, `We have ${card} on file.`)
    expect(textOf(reply.parts)).toBe("We have [card ending 1111] on file.")
    await waitFor(() => adapter.sent.length === 1)
    expect(textOf(adapter.sent[0]!.parts)).toBe("We have [card ending 1111] on file.")
  })

  it("a veto fails the reply typed, records a system note and sends nothing", async () => {
    const { hub, adapter } = await open({
      send: [
        {
          name: "no-refunds",
          run: (c) =>
            c.author._tag === "bot" ? { _tag: "veto", reason: "bots may not promise refunds" } : undefined
        }
      ]
    })
    const { conversationId } = await hub.ingest(inbound("refund?"))
    await expect(
      hub.reply(conversationId, "Sure, refunded!", { author: { _tag: "bot", id: "helper" } })
    ).rejects.toMatchObject({ _tag: "HookVetoed", stage: "send", hook: "no-refunds" })
    const thread = await hub.thread(conversationId)
    const outbound = thread.messages.filter((m) => m.direction === "outbound")
    expect(outbound).toHaveLength(1)
    expect(outbound[0]).toMatchObject({ visibility: "internal", author: { _tag: "system" } })
    expect(textOf(outbound[0]!.parts)).toContain("bots may not promise refunds")
    expect(ofTag(await events(hub), "hook.send_vetoed")[0]?.body).toMatchObject({
      hook: "no-refunds",
      conversationId
    })
    await new Promise((r) => setTimeout(r, 100))
    expect(adapter.attempts).toHaveLength(0)
  })

  it.each([
    [
      "throws",
      () => {
        throw new Error("scanner down")
      }
    ],
    ["rejects", () => Promise.reject(new Error("scanner down"))],
    ["fails as an Effect", () => Effect.fail(new Error("scanner down"))],
    ["returns something else", () => ({ _tag: "maybe" }) as never]
  ])("a hook that %s fails the reply closed: HookFailed, a note, nothing sent", async (_, run) => {
    const { hub, adapter } = await open({
      send: [
        { name: "dlp", run },
        { name: "redact", run: redactCardNumbers }
      ]
    })
    const { conversationId } = await hub.ingest(inbound("hi"))
    await expect(hub.reply(conversationId, `card ${card}`)).rejects.toMatchObject({
      _tag: "HookFailed",
      stage: "send",
      hook: "dlp"
    })
    const thread = await hub.thread(conversationId)
    expect(
      thread.messages.filter((m) => m.visibility === "public" && m.direction === "outbound")
    ).toHaveLength(0)
    expect(
      thread.messages.some((m) => m.visibility === "internal" && textOf(m.parts).includes('"dlp" failed'))
    ).toBe(true)
    expect(JSON.stringify(thread.messages)).not.toContain("4111")
    expect(ofTag(await events(hub), "hook.send_failed")[0]?.body).toMatchObject({
      hook: "dlp",
      conversationId
    })
    await new Promise((r) => setTimeout(r, 100))
    expect(adapter.attempts).toHaveLength(0)
  })

  it("the Effect front door fails with the same typed errors", async () => {
    const { Hub } = await import("../src/index.js")
    const exit = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const store = yield* MemoryStore.makeMemoryStore()
          const hub = yield* Hub.make(store, {
            adapters: [createTestChannelAdapter({ channel: "chat" })],
            hooks: {
              send: [
                { name: "never", run: () => Effect.succeed({ _tag: "veto" as const, reason: "closed" }) }
              ]
            },
            log: () => {}
          })
          const { conversationId } = yield* hub.ingest(inbound("hello"))
          return yield* Effect.either(hub.reply(conversationId, "hi"))
        })
      )
    )
    expect(exit._tag).toBe("Left")
    expect(exit._tag === "Left" && exit.left._tag).toBe("HookVetoed")
  })
})
