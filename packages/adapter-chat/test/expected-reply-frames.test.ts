import { afterEach, describe, expect, it } from "vitest"
import { hubExpectedReply } from "../src/index.js"
import { type ChatRig, clientId, greet, startRig } from "./chatHarness.js"

let rig: ChatRig | undefined
afterEach(() => rig?.close())

const firstResponseMs = 10 * 60_000
const nextResponseMs = 5 * 60_000
const sla = {
  sla: {
    policies: [{ id: "chat", targets: { firstResponse: firstResponseMs, nextResponse: nextResponseMs } }]
  }
}

describe("expected reply time", () => {
  it("tells the visitor when the running response clock is due, and that nothing is owed once answered", async () => {
    rig = await startRig((hub) => ({ expectedReply: hubExpectedReply(hub) }), sla)
    const { client, welcome } = await greet(rig.url)
    const sentAt = Date.now()
    client.send({ type: "message", id: clientId(), text: "Where is my parcel?" })
    const ack = await client.next("ack")
    const first = await client.next("expected_reply")
    const expected = await rig.hub.sla.expectedReply(ack.conversationId)
    expect(expected?.target).toBe("first_response")
    expect(first.dueAt).toBe(expected!.dueAt!.getTime())
    expect(first.dueAt! - sentAt).toBeGreaterThan(firstResponseMs - 5_000)
    expect(first.dueAt! - sentAt).toBeLessThanOrEqual(firstResponseMs + 5_000)

    // The agent answers: no reply is owed any more.
    await rig.hub.reply(ack.conversationId, "On its way!")
    await client.next("message", (m) => m.text === "On its way!")
    expect((await client.next("expected_reply")).dueAt).toBeNull()

    // A returning tab learns it on hello; the visitor's next message starts the next response clock.
    const binding = client.all("conversation")[0]!
    await client.close()
    const back = await greet(rig.url, {
      visitor: welcome.visitor,
      conversation: { id: binding.id, token: binding.token }
    })
    expect((await back.client.next("expected_reply")).dueAt).toBeNull()
    back.client.send({ type: "message", id: clientId(), text: "Thanks, and the invoice?" })
    await back.client.next("ack")
    const next = await back.client.next("expected_reply")
    const again = await rig.hub.sla.expectedReply(ack.conversationId)
    expect(again?.target).toBe("next_response")
    expect(next.dueAt).toBe(again!.dueAt!.getTime())
    await back.client.close()
  })

  it("sends no expected reply frames when the host did not ask for them", async () => {
    rig = await startRig({}, sla)
    const { client } = await greet(rig.url)
    client.send({ type: "message", id: clientId(), text: "Hello?" })
    const ack = await client.next("ack")
    await client.next("message")
    expect(await rig.hub.sla.expectedReply(ack.conversationId)).toBeDefined()
    client.send({ type: "ping" })
    await client.next("pong")
    expect(client.all("expected_reply")).toEqual([])
    await client.close()
  })
})
