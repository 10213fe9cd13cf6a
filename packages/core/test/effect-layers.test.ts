import { expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { Hub, MemoryStore } from "../src/index.js"

const HubLive = Hub.layer({ log: () => {} }).pipe(Layer.provide(MemoryStore.layer))

it.scoped("the Effect front door composes Hub.layer on a store layer, with typed errors", () =>
  Effect.gen(function* () {
    const hub = yield* Hub.Hub
    const receipt = yield* hub.ingest({
      channel: "chat",
      providerMessageId: "c-1",
      from: { address: "visitor-1" },
      parts: [{ _tag: "text", text: "hi" }],
      sentAt: Date.now()
    })
    const thread = yield* hub.thread(receipt.conversationId)
    expect(thread.messages.map((m) => m.channel)).toEqual(["chat"])
    const missing = yield* hub.thread("cv_nope").pipe(Effect.flip)
    expect(missing._tag).toBe("NotFound")
    const malformed = yield* hub.ingest({ channel: "Not A Channel" }).pipe(Effect.flip)
    expect(malformed._tag).toBe("InvalidInput")
  }).pipe(Effect.provide(HubLive))
)
