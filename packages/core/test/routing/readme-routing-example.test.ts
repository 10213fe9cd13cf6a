import { Effect } from "effect"
import { expect, it } from "vitest"
import { createHub, MemoryStore } from "../../src/index.js"
import { createTestChannelAdapter } from "../../src/testing/TestChannelAdapter.js"

// The "Routing and handoff" example of the README, kept runnable: same code, asserted.
it("README: a bot takes the conversation, hands off to a human with context, a callback is booked", async () => {
  const sms = createTestChannelAdapter({ channel: "sms" })
  const hub = await createHub({
    store: await Effect.runPromise(MemoryStore.makeMemoryStore()),
    adapters: [sms],
    defaultRegion: "FI",
    routing: {
      rules: [{ match: { channels: ["sms"] }, team: "bots" }],
      defaultTeam: "support",
      handoffAcceptMs: 120_000
    },
    log: () => {}
  })
  await hub.routing.upsertTeam({ id: "bots" })
  await hub.routing.upsertTeam({ id: "support", strategy: "least_loaded" })
  await hub.routing.upsertParticipant({
    id: "faq-bot",
    kind: "bot",
    teams: ["bots"],
    capacity: 1000,
    availability: "online"
  })
  await hub.routing.upsertParticipant({
    id: "maria",
    teams: ["support"],
    skills: ["billing"],
    capacity: 5,
    availability: "online"
  })

  const { conversationId } = await hub.ingest({
    channel: "sms",
    providerMessageId: "SM1",
    from: { address: "+358401234567" },
    parts: [{ _tag: "text", text: "My invoice is wrong, I want to talk to a person" }],
    sentAt: Date.now()
  })
  // Routing runs as a durable job right after the ingest commits.
  for (let i = 0; i < 100 && (await hub.thread(conversationId)).conversation.assignee._tag !== "bot"; i++)
    await new Promise((r) => setTimeout(r, 10))

  const handoff = await hub.handoff(conversationId, {
    to: { _tag: "team", id: "support" },
    reason: "customer asked for a human",
    note: "invoice 2024-118 looks double-charged",
    by: "faq-bot"
  })
  console.log(handoff.summary.map((m) => `${m.author}: ${m.text}`)) // what maria reads first
  await hub.handoffs.accept(handoff.id, "maria") // a second accept would reject: HandoffNotPending

  const callback = await hub.callbacks.schedule(conversationId, {
    window: { from: new Date(Date.now() + 3_600_000), to: new Date(Date.now() + 5_400_000) },
    phone: "040 1234567",
    note: "prefers afternoons"
  })
  console.log(callback.state, callback.phone) // scheduled +358401234567
  expect((await hub.thread(conversationId, { as: "maria" })).conversation.assignee).toEqual({
    _tag: "agent",
    id: "maria"
  })
  expect(handoff.summary.map((m) => m.text)).toEqual(["My invoice is wrong, I want to talk to a person"])
  expect([callback.state, callback.phone]).toEqual(["scheduled", "+358401234567"])
  await hub.close()
})
