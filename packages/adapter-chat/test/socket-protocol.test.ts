import { afterEach, beforeEach, describe, expect, it, vi } from "vitest"
import { signIdentity } from "../src/index.js"
import { type ChatRig, clientId, greet, secret, startRig, TestClient } from "./chatHarness.js"

let rig: ChatRig
beforeEach(async () => {
  rig = await startRig({ messageRate: { burst: 3, perSecond: 0.5 }, maxPayloadBytes: 8 * 1024 })
})
afterEach(() => rig.close())

const received = async () => (await rig.hub.events.after(0)).filter((e) => e.body._tag === "message.received")

describe("chat socket protocol", () => {
  it("greets an anonymous visitor with a signed visitor token and keeps it on the next visit", async () => {
    const { client, welcome } = await greet(rig.url)
    expect(welcome).toMatchObject({ v: 1, verified: false, agentsOnline: false })
    expect(welcome.visitor).toMatch(/^v_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/)
    await client.close()
    const again = await greet(rig.url, { visitor: welcome.visitor })
    expect(again.welcome.visitor).toBe(welcome.visitor)
    const tampered = await greet(rig.url, {
      visitor: `${welcome.visitor.split(".")[0]}x.${welcome.visitor.split(".")[1]}`
    })
    await tampered.client.next("error", (e) => e.code === "bad_visitor")
    expect(tampered.welcome.visitor).not.toBe(welcome.visitor)
    await again.client.close()
    await tampered.client.close()
  })

  it("acks a message only once the hub committed it, then echoes it with its cursor", async () => {
    const { client } = await greet(rig.url)
    const id = clientId()
    client.send({ type: "message", id, text: "  Where is my order?  " })
    const ack = await client.next("ack")
    // The ack comes after the commit: the message is already in the event log.
    const stored = await received()
    expect(stored).toHaveLength(1)
    const body = stored[0]!.body
    if (body._tag !== "message.received") throw new Error("unreachable")
    expect(ack).toMatchObject({
      id,
      messageId: body.message.id,
      conversationId: body.conversationId,
      duplicate: false
    })
    expect(body.message.parts).toEqual([{ _tag: "text", text: "Where is my order?" }])
    const echo = await client.next("message")
    expect(echo).toMatchObject({ seq: stored[0]!.seq, id: body.message.id, clientId: id, author: "visitor" })
    const binding = await client.next("conversation")
    expect(binding.id).toBe(body.conversationId)
    await client.close()
  })

  it("stores a resent client id once and acks every copy", async () => {
    const { client } = await greet(rig.url)
    const id = clientId()
    client.send({ type: "message", id, text: "once" })
    client.send({ type: "message", id, text: "once" })
    const first = await client.next("ack")
    const second = await client.next("ack")
    expect([first.duplicate, second.duplicate].sort()).toEqual([false, true])
    expect(second.messageId).toBe(first.messageId)
    expect(await received()).toHaveLength(1)
    await client.close()
  })

  it("scopes client ids per visitor, so replaying someone else's id reveals nothing", async () => {
    const alice = await greet(rig.url)
    const mallory = await greet(rig.url)
    const id = clientId()
    alice.client.send({ type: "message", id, text: "private" })
    const aliceAck = await alice.client.next("ack")
    mallory.client.send({ type: "message", id, text: "give me alice's thread" })
    const malloryAck = await mallory.client.next("ack")
    expect(malloryAck.duplicate).toBe(false)
    expect(malloryAck.conversationId).not.toBe(aliceAck.conversationId)
    await alice.client.close()
    await mallory.client.close()
  })

  it("answers a visitor over their message rate with a rate_limited error frame and stores nothing more", async () => {
    const { client } = await greet(rig.url)
    const ids = Array.from({ length: 5 }, clientId)
    for (const id of ids) client.send({ type: "message", id, text: `burst ${id}` })
    const limited = await client.next("error", (e) => e.code === "rate_limited")
    expect(limited.ref).toBe(ids[3])
    expect(limited.retryAfterMs).toBeGreaterThan(0)
    await client.next("error", (e) => e.code === "rate_limited" && e.ref === ids[4])
    for (let i = 0; i < 3; i++) await client.next("ack")
    expect(await received()).toHaveLength(3)
    await client.close()
  })

  it("closes a socket that sends a frame over maxPayload (1009) without storing anything", async () => {
    const { client } = await greet(rig.url)
    client.send({ type: "message", id: clientId(), text: "x".repeat(10_000) })
    const closed = await client.closed
    expect(closed.code).toBe(1009)
    expect(await received()).toHaveLength(0)
  })

  it("refuses text over the channel's limit, malformed frames and messages before hello with error frames", async () => {
    const early = await TestClient.connect(rig.url)
    early.send({ type: "message", id: clientId(), text: "too early" })
    await early.next("error", (e) => e.code === "not_ready")
    await early.close()
    const { client } = await greet(rig.url)
    const long = clientId()
    client.send({ type: "message", id: long, text: "y".repeat(4_001) })
    expect((await client.next("error", (e) => e.ref === long)).code).toBe("too_long")
    client.send("{not json")
    await client.next("error", (e) => e.code === "bad_frame")
    client.send({ type: "message", id: "short", text: "bad id" })
    await client.next("error", (e) => e.code === "bad_frame")
    client.send({ type: "ping" })
    await client.next("pong")
    expect(await received()).toHaveLength(0)
    await client.close()
  })

  it("refuses a forged identity signature and an unknown protocol version by closing the socket", async () => {
    const forged = await TestClient.connect(rig.url)
    forged.send({
      type: "hello",
      v: 1,
      cursor: 0,
      identity: {
        userId: "42",
        email: "anna@example.com",
        signature: signIdentity("wrong-secret-0123456789", { userId: "42", email: "anna@example.com" })
      }
    })
    await forged.next("error", (e) => e.code === "bad_identity")
    expect((await forged.closed).code).toBe(4003)
    const future = await TestClient.connect(rig.url)
    future.send({ type: "hello", v: 2, cursor: 0 })
    await future.next("error", (e) => e.code === "unsupported_version")
    expect((await future.closed).code).toBe(4000)
    expect(signIdentity(secret, { userId: "42" })).toMatch(/^[0-9a-f]{64}$/)
  })

  it("refuses upgrades from origins that are not allowed", async () => {
    await rig.close()
    rig = await startRig({ allowedOrigins: ["https://shop.example"] })
    await expect(TestClient.connect(rig.url, { origin: "https://evil.example" })).rejects.toThrow(/403/)
    const ok = await TestClient.connect(rig.url, { origin: "https://shop.example" })
    await ok.close()
  })

  it("drops a socket that stops answering pings", async () => {
    await rig.close()
    rig = await startRig({ heartbeatMs: 100 })
    const { client } = await greet(rig.url)
    // A peer that vanished without a close: its pongs never come back.
    // (ws answers pings by calling the socket's own pong.)
    client.socket.pong = () => undefined
    const closed = await client.closed
    expect(closed.code).toBe(1006)
    await vi.waitFor(() => expect(rig.chat.connectionCount()).toBe(0))
  })

  it("tells open widgets about agent presence and typing, and reports visitor typing to the host", async () => {
    const typing: boolean[] = []
    await rig.close()
    rig = await startRig({ onTyping: (e) => typing.push(e.on) })
    const { client, welcome } = await greet(rig.url)
    rig.chat.setAgentsOnline(true)
    expect(await client.next("presence")).toMatchObject({ online: true })
    const address = welcome.visitor.split(".")[0]!
    rig.chat.setTyping(address, true)
    expect(await client.next("typing")).toMatchObject({ on: true })
    client.send({ type: "typing", on: true })
    client.send({ type: "ping" })
    await client.next("pong")
    expect(typing).toEqual([true])
    await client.close()
  })
})
