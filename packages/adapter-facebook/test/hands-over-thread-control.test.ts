import { describe, expect, it } from "vitest"
import { type MessengerEvent, pageInboxAppId } from "../src/index.js"
import { received, startHub } from "./hubHarness.js"
import {
  address,
  appId,
  fixture,
  makeAdapter,
  mockGraphForFile,
  pageBotAppId,
  psid,
  signed,
  textMessage
} from "./meta.js"

const graph = await mockGraphForFile()

const controlCalls = (from: number) =>
  graph.requests
    .slice(from)
    .filter((r) => /_thread_control$/.test(r.path))
    .map((r) => [r.path.split("/").pop(), r.body])

describe("thread control (Conversation Routing)", () => {
  it("stores standby messages while a page bot owns the thread, and refuses replies until we take it", async () => {
    const events: MessengerEvent[] = []
    const adapter = makeAdapter(graph, { onEvent: (e) => void events.push(e) })
    const hub = await startHub(adapter)
    // The page bot took the thread (a take_thread_control event naming it as the new owner).
    expect((await adapter.handleWebhook(signed(fixture("handover-take")))).status).toBe(200)
    expect(await adapter.threadOwner(address)).toEqual({ _tag: "app", appId: pageBotAppId })
    const standby = fixture("standby-message").replace("1570053170673", String(Date.now()))
    expect((await adapter.handleWebhook(signed(standby))).status).toBe(200)
    const [message] = await received(hub)
    expect(message?.providerMessageId).toBe("m_standby_1")
    const check = await hub.canReply(message!.conversationId)
    expect(check).toMatchObject({ ok: false, refusal: { _tag: "CapabilityMissing" } })
    expect(JSON.stringify(check)).toContain(pageBotAppId)

    const before = graph.requests.length
    await adapter.takeThreadControl(address, "customer asked for a person")
    expect(await hub.canReply(message!.conversationId)).toEqual({ ok: true, channel: "messenger", address })
    await adapter.passThreadControl(address, pageBotAppId, "resolved by an agent")
    expect(controlCalls(before)).toEqual([
      ["take_thread_control", { recipient: { id: psid }, metadata: "customer asked for a person" }],
      [
        "pass_thread_control",
        { recipient: { id: psid }, target_app_id: pageBotAppId, metadata: "resolved by an agent" }
      ]
    ])
    expect(await adapter.threadOwner(address)).toEqual({ _tag: "app", appId: pageBotAppId })
    expect(events.map((e) => e._tag)).toEqual(["handover"])
    await hub.close()
  })

  it("follows pass and request events and hands them to the host", async () => {
    const events: MessengerEvent[] = []
    const adapter = makeAdapter(graph, { onEvent: (e) => void events.push(e) })
    const hub = await startHub(adapter)
    await adapter.handleWebhook(signed(fixture("handover-pass")))
    expect(await adapter.threadOwner(address)).toEqual({ _tag: "app", appId })
    await adapter.handleWebhook(signed(fixture("handover-request")))
    // A request does not move ownership; the host decides whether to pass.
    expect(await adapter.threadOwner(address)).toEqual({ _tag: "app", appId })
    expect(events).toMatchObject([
      { _tag: "handover", kind: "pass_thread_control", appId, previousAppId: pageBotAppId },
      { _tag: "handover", kind: "request_thread_control", appId: pageBotAppId }
    ])
    await adapter.handleWebhook(signed(textMessage("m_after_pass", "hello again")))
    expect(await received(hub)).toHaveLength(1)
    await hub.close()
  })

  it("requests, releases and asks Meta for the owner", async () => {
    const adapter = makeAdapter(graph)
    const before = graph.requests.length
    await adapter.requestThreadControl(address, "agent wants in")
    await adapter.releaseThreadControl(address)
    expect(await adapter.threadOwner(address)).toEqual({ _tag: "idle" })
    expect(await adapter.threadOwner(address, { refresh: true })).toEqual({
      _tag: "app",
      appId: pageInboxAppId
    })
    expect(controlCalls(before)).toEqual([
      ["request_thread_control", { recipient: { id: psid }, metadata: "agent wants in" }],
      ["release_thread_control", { recipient: { id: psid } }]
    ])
    expect(graph.requests.at(-1)).toMatchObject({ method: "GET", query: { recipient: psid } })
  })
})
