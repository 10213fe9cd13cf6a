import { afterEach, beforeEach, describe, expect, it, vi } from "vitest"
import { type ChatRig, clientId, greet, startRig } from "./chatHarness.js"

let rig: ChatRig
beforeEach(async () => {
  rig = await startRig()
})
afterEach(() => rig.close())

const eventsOf = async (tag: string) => (await rig.hub.events.after(0)).filter((e) => e.body._tag === tag)

describe("offline replies and resume from the cursor", () => {
  it("keeps replies for a visitor who left and replays every one exactly once, in order, on resume", async () => {
    const first = await greet(rig.url)
    first.client.send({ type: "message", id: clientId(), text: "Is anyone there?" })
    const ack = await first.client.next("ack")
    const binding = await first.client.next("conversation")
    const echo = await first.client.next("message")
    await first.client.close()

    for (const text of ["Hi!", "Let me check.", "Your order ships today."])
      await rig.hub.reply(ack.conversationId, text)
    // The hub sent them through the adapter while nobody was connected: kept, not delivered.
    await vi.waitFor(async () => expect(await eventsOf("message.sent")).toHaveLength(3))
    expect(await eventsOf("message.status")).toHaveLength(0)

    const back = await greet(rig.url, {
      visitor: first.welcome.visitor,
      conversation: { id: binding.id, token: binding.token },
      cursor: echo.seq
    })
    expect(back.welcome.conversation?.id).toBe(ack.conversationId)
    const replies = [
      await back.client.next("message"),
      await back.client.next("message"),
      await back.client.next("message")
    ]
    expect(replies.map((m) => m.text)).toEqual(["Hi!", "Let me check.", "Your order ships today."])
    expect(replies.every((m) => m.author === "agent")).toBe(true)
    expect(replies.map((m) => m.seq)).toEqual([...replies.map((m) => m.seq)].sort((a, b) => a - b))

    // A live reply afterwards arrives once, and nothing old is sent again.
    await rig.hub.reply(ack.conversationId, "Anything else?")
    const live = await back.client.next("message")
    expect(live.text).toBe("Anything else?")
    back.client.send({ type: "ping" })
    await back.client.next("pong")
    await vi.waitFor(async () => expect(await eventsOf("message.sent")).toHaveLength(4))
    expect(back.client.all("message").map((m) => m.text)).toEqual([
      "Hi!",
      "Let me check.",
      "Your order ships today.",
      "Anything else?"
    ])
    // Replies handed over on resume are reported delivered; the live one too.
    await vi.waitFor(async () =>
      expect(
        (await eventsOf("message.status")).filter(
          (e) => e.body._tag === "message.status" && e.body.status._tag === "delivered"
        )
      ).toHaveLength(4)
    )
    // A read watermark marks them read.
    back.client.send({ type: "read", seq: live.seq })
    await vi.waitFor(async () =>
      expect(
        (await eventsOf("message.status")).filter(
          (e) => e.body._tag === "message.status" && e.body.status._tag === "read"
        )
      ).toHaveLength(4)
    )
    await back.client.close()
  })

  it("delivers a live reply to every open tab of the visitor once", async () => {
    const tab1 = await greet(rig.url)
    tab1.client.send({ type: "message", id: clientId(), text: "hello from tab 1" })
    const ack = await tab1.client.next("ack")
    const binding = await tab1.client.next("conversation")
    const echo = await tab1.client.next("message")
    const tab2 = await greet(rig.url, {
      visitor: tab1.welcome.visitor,
      conversation: binding,
      cursor: echo.seq
    })
    await rig.hub.reply(ack.conversationId, "to both tabs")
    expect((await tab1.client.next("message")).text).toBe("to both tabs")
    expect((await tab2.client.next("message")).text).toBe("to both tabs")
    // A message typed in one tab shows in the other.
    tab2.client.send({ type: "message", id: clientId(), text: "from tab 2" })
    expect((await tab1.client.next("message")).text).toBe("from tab 2")
    for (const tab of [tab1, tab2]) {
      tab.client.send({ type: "ping" })
      await tab.client.next("pong")
    }
    expect(tab1.client.all("message").map((m) => m.text)).toEqual([
      "hello from tab 1",
      "to both tabs",
      "from tab 2"
    ])
    expect(tab2.client.all("message").map((m) => m.text)).toEqual(["to both tabs", "from tab 2"])
    await tab1.client.close()
    await tab2.client.close()
  })

  it("refuses a conversation binding that belongs to another visitor", async () => {
    const owner = await greet(rig.url)
    owner.client.send({ type: "message", id: clientId(), text: "mine" })
    const binding = await owner.client.next("conversation")
    const other = await greet(rig.url, { conversation: binding, cursor: 0 })
    await other.client.next("error", (e) => e.code === "bad_conversation")
    expect(other.welcome.conversation).toBeUndefined()
    other.client.send({ type: "ping" })
    await other.client.next("pong")
    expect(other.client.all("message")).toEqual([])
    await owner.client.close()
    await other.client.close()
  })
})
