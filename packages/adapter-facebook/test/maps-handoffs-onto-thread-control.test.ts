import type { DialogiHub } from "@dialogi/core"
import { describe, expect, it } from "vitest"
import type { FacebookAdapter, FollowHubOptions } from "../src/index.js"
import { eventually, received, startHub } from "./hubHarness.js"
import {
  address,
  fixture,
  makeAdapter,
  mockGraphForFile,
  pageBotAppId,
  psid,
  signed,
  textMessage
} from "./meta.js"

const graph = await mockGraphForFile()

const support = { _tag: "team", id: "support" } as const

/** Thread-control and Send API calls since `from`, as [endpoint, body]. */
const callsSince = (from: number) =>
  graph.requests
    .slice(from)
    .filter((r) => r.method === "POST")
    .map((r) => [r.path.split("/").pop(), r.body] as const)

const withHub = async (
  options: Omit<FollowHubOptions, "after">,
  body: (adapter: FacebookAdapter, hub: DialogiHub) => Promise<void>
) => {
  const adapter = makeAdapter(graph)
  const hub = await startHub(adapter, true)
  await hub.routing.upsertTeam({ id: "support" })
  const follower = adapter.followHub(hub, { after: 0, ...options })
  try {
    await body(adapter, hub)
  } finally {
    await follower.close()
    await hub.close()
  }
}

/** The page bot owns the thread and the customer wrote to it: we only see the standby copy. */
const botOwnsThreadAndCustomerWrote = async (adapter: FacebookAdapter, hub: DialogiHub) => {
  expect((await adapter.handleWebhook(signed(fixture("handover-take")))).status).toBe(200)
  const standby = fixture("standby-message").replace("1570053170673", String(Date.now()))
  expect((await adapter.handleWebhook(signed(standby))).status).toBe(200)
  const [message] = await received(hub)
  return message!.conversationId
}

describe("hub handoffs mapped onto Messenger thread control", () => {
  it("a handoff from the page bot to a person and back takes the thread, answers, and passes it back, in that order; the standby message is stored and not answered", async () => {
    await withHub({}, async (adapter, hub) => {
      const before = graph.requests.length
      const conversationId = await botOwnsThreadAndCustomerWrote(adapter, hub)
      expect((await received(hub)).map((m) => m.providerMessageId)).toEqual(["m_standby_1"])
      expect(await hub.canReply(conversationId)).toMatchObject({
        ok: false,
        refusal: { _tag: "CapabilityMissing" }
      })
      expect(callsSince(before)).toEqual([])

      await hub.handoff(conversationId, { to: support, reason: "customer asked for a person" })
      // Ownership moves once Meta answered the take.
      const ownerIs = (appId: string) => async () => {
        const owner = await adapter.threadOwner(address)
        return owner?._tag === "app" && owner.appId === appId ? true : undefined
      }
      await eventually(ownerIs("123456789"))
      expect(callsSince(before)).toHaveLength(1)
      expect(await hub.canReply(conversationId)).toMatchObject({ ok: true })

      await hub.reply(conversationId, "Hello, Anna from support here")
      await eventually(async () => (callsSince(before).length === 2 ? true : undefined))
      await hub.setStatus(conversationId, "resolved")
      await eventually(ownerIs(pageBotAppId))

      expect(callsSince(before)).toEqual([
        ["take_thread_control", { recipient: { id: psid }, metadata: "customer asked for a person" }],
        [
          "messages",
          expect.objectContaining({
            recipient: { id: psid },
            messaging_type: "RESPONSE",
            message: expect.objectContaining({ text: "Hello, Anna from support here" })
          })
        ],
        [
          "pass_thread_control",
          { recipient: { id: psid }, target_app_id: pageBotAppId, metadata: "conversation resolved" }
        ]
      ])
    })
  })

  it("the page bot passing the thread to us becomes a handoff to the configured team, and resolving passes it back", async () => {
    await withHub({ handoffTo: support }, async (adapter, hub) => {
      const before = graph.requests.length
      await adapter.handleWebhook(signed(textMessage("m_bot_gave_up", "I want a human", Date.now())))
      const [message] = await received(hub)
      expect((await adapter.handleWebhook(signed(fixture("handover-pass")))).status).toBe(200)

      const requested = await eventually(async () =>
        (await hub.events.after(0)).find((e) => e.body._tag === "handoff.requested")
      )
      expect(requested.body).toMatchObject({
        conversationId: message!.conversationId,
        to: support,
        reason: `Messenger: app ${pageBotAppId} passed the thread to dialogi`,
        note: "Additional content that the caller wants to set"
      })
      // We own the thread already: nothing to take.
      expect(callsSince(before)).toEqual([])

      await hub.setStatus(message!.conversationId, "resolved")
      await eventually(async () => (callsSince(before).length === 1 ? true : undefined))
      expect(callsSince(before)).toEqual([
        [
          "pass_thread_control",
          { recipient: { id: psid }, target_app_id: pageBotAppId, metadata: "conversation resolved" }
        ]
      ])
    })
  })

  it("can request the thread instead of taking it, and return it to a configured app", async () => {
    await withHub({ humanHandoff: "request", returnToAppId: "263902037430900" }, async (adapter, hub) => {
      const before = graph.requests.length
      const conversationId = await botOwnsThreadAndCustomerWrote(adapter, hub)
      await hub.handoff(conversationId, { to: support, reason: "needs a refund" })
      await eventually(async () => (callsSince(before).length === 1 ? true : undefined))
      expect(callsSince(before)).toEqual([
        ["request_thread_control", { recipient: { id: psid }, metadata: "needs a refund" }]
      ])
      // A request does not move ownership: the bot still owns the thread until it passes.
      expect(await adapter.threadOwner(address)).toEqual({ _tag: "app", appId: pageBotAppId })
      const pass = fixture("handover-pass")
      expect((await adapter.handleWebhook(signed(pass))).status).toBe(200)
      await hub.setStatus(conversationId, "resolved")
      await eventually(async () => (callsSince(before).length === 2 ? true : undefined))
      expect(callsSince(before)[1]).toEqual([
        "pass_thread_control",
        { recipient: { id: psid }, target_app_id: "263902037430900", metadata: "conversation resolved" }
      ])
    })
  })

  it("notes in the thread when the page bot takes the thread back or asks for it", async () => {
    await withHub({}, async (adapter, hub) => {
      await adapter.handleWebhook(signed(textMessage("m_before_take", "still there?", Date.now())))
      const [message] = await received(hub)
      expect((await adapter.handleWebhook(signed(fixture("handover-request")))).status).toBe(200)
      expect((await adapter.handleWebhook(signed(fixture("handover-take")))).status).toBe(200)
      const notes = (await hub.thread(message!.conversationId)).messages
        .filter((m) => m.visibility === "internal")
        .map((m) => [m.author, m.parts])
      expect(notes).toEqual([
        [
          { _tag: "system" },
          [
            {
              _tag: "text",
              text: `Messenger: app ${pageBotAppId} asks for the thread (additional content that the caller wants to set); it gets it back when the conversation is resolved.`
            }
          ]
        ],
        [
          { _tag: "system" },
          [
            {
              _tag: "text",
              text: `Messenger: app ${pageBotAppId} took the thread (additional content that the caller wants to set); replies here are refused until it passes it back.`
            }
          ]
        ]
      ])
    })
  })
})
