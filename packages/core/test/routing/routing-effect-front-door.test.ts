import { expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { Hub, MemoryStore } from "../../src/index.js"

const HubLive = Hub.layer({ routing: { defaultTeam: "support" }, log: () => {} }).pipe(
  Layer.provide(MemoryStore.layer)
)

it.scoped("the Effect front door: routing admin, handoffs and callbacks with typed errors", () =>
  Effect.gen(function* () {
    const hub = yield* Hub.Hub
    yield* hub.routing.upsertTeam({ id: "support" })
    yield* hub.routing.upsertParticipant({
      id: "ann",
      teams: ["support"],
      capacity: 0,
      availability: "online"
    })
    const bad = yield* hub.routing.upsertParticipant({ id: "bob", teams: ["nope"] }).pipe(Effect.flip)
    expect(bad).toMatchObject({ _tag: "RoutingNotFound", entity: "team", id: "nope" })
    const invalid = yield* hub.routing.upsertParticipant({ id: "bob", capacity: -1 }).pipe(Effect.flip)
    expect(invalid._tag).toBe("InvalidInput")

    const { conversationId } = yield* hub.ingest({
      channel: "chat",
      providerMessageId: "c-1",
      from: { address: "visitor-1" },
      parts: [{ _tag: "text", text: "hi" }],
      sentAt: Date.now()
    })
    const handoff = yield* hub.handoff(conversationId, {
      to: { _tag: "agent", id: "ann" },
      reason: "she knows"
    })
    // Ann has no room (capacity 0): the accept fails in the error channel and changes nothing.
    const full = yield* hub.handoffs.accept(handoff.id, "ann").pipe(Effect.flip)
    expect(full).toMatchObject({ _tag: "AtCapacity", participantId: "ann", capacity: 0 })
    expect((yield* hub.handoffs.get(handoff.id)).state).toBe("requested")
    const unknownTarget = yield* hub
      .handoff(conversationId, { to: { _tag: "team", id: "ghosts" }, reason: "x" })
      .pipe(Effect.flip)
    expect(unknownTarget._tag).toBe("HandoffAlreadyPending")
    const badWindow = yield* hub.callbacks
      .schedule(conversationId, { window: { from: 0, to: 1 }, phone: "+358401234567" })
      .pipe(Effect.flip)
    expect(badWindow).toMatchObject({ _tag: "InvalidInput", what: "callback.window" })
    const badPhone = yield* hub.callbacks
      .schedule(conversationId, { window: { from: Date.now(), to: Date.now() + 60_000 }, phone: "12" })
      .pipe(Effect.flip)
    expect(badPhone._tag).toBe("InvalidAddress")
  }).pipe(Effect.provide(HubLive))
)
