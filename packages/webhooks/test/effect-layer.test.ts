import { Hub, MemoryStore } from "@dialogi/core"
import { Effect, Layer } from "effect"
import { expect, it } from "vitest"
import { generateWebhookSecret, Webhooks } from "../src/index.js"
import { eventually, inboundEmail, startReceiver } from "./receiver.js"

it("runs as a Layer beside the hub on the same Store, for Effect users", async () => {
  const secret = generateWebhookSecret()
  const receiver = await startReceiver([secret])
  const live = Layer.mergeAll(
    Hub.layer(),
    Webhooks.layer({
      subscriptions: [{ id: "crm", url: receiver.url, secrets: [secret], eventTypes: ["message.received"] }]
    })
  ).pipe(Layer.provide(MemoryStore.layer))
  const program = Effect.gen(function* () {
    const hub = yield* Hub.Hub
    const webhooks = yield* Webhooks.Webhooks
    const { conversationId } = yield* hub.ingest(inboundEmail("anna", "from an Effect program"))
    yield* Effect.promise(() => eventually(() => expect(receiver.accepted).toHaveLength(1)))
    return { conversationId, status: yield* webhooks.status("crm") }
  })
  try {
    // The layers' scope closes when the program ends: workers stop, the store closes.
    const { status } = await Effect.runPromise(Effect.provide(program, live))
    expect(status.inFlight).toBeUndefined()
    expect(receiver.accepted[0]!.type).toBe("message.received")
  } finally {
    await receiver.close()
  }
})
