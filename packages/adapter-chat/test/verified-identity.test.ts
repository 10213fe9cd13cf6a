import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { signIdentity } from "../src/index.js"
import { type ChatRig, clientId, greet, secret, startRig, TestClient } from "./chatHarness.js"

let rig: ChatRig
beforeEach(async () => {
  rig = await startRig()
})
afterEach(() => rig.close())

const emailFromAnna = () =>
  rig.hub.ingest({
    channel: "email",
    providerMessageId: "<order-1@mail.example.com>",
    from: { address: "Anna Virtanen <anna@example.com>" },
    parts: [{ _tag: "text", text: "My order has not arrived." }],
    sentAt: Date.now()
  })

describe("chat identity", () => {
  it("links a host-signed user with a verified email to the contact and thread of that email", async () => {
    const email = await emailFromAnna()
    const identity = { userId: "42", email: "anna@example.com", name: "Anna" }
    const { client, welcome } = await greet(rig.url, {
      identity: { ...identity, signature: signIdentity(secret, identity) }
    })
    expect(welcome.verified).toBe(true)
    client.send({ type: "message", id: clientId(), text: "Writing from the chat now" })
    const ack = await client.next("ack")
    const thread = await rig.hub.thread(ack.conversationId)
    expect(thread.contact.id).toBe(email.contactId)
    expect(ack.conversationId).toBe(email.conversationId)
    expect(thread.contact.identities.map((i) => [i.channel, i.address, i.verified])).toEqual(
      expect.arrayContaining([
        // The host vouched for the email, so the email identity is now verified as well.
        ["email", "anna@example.com", true],
        ["chat", "u_42", true]
      ])
    )
    await client.close()
  })

  it("never links an unsigned email claim: a separate contact and only a merge suggestion", async () => {
    const email = await emailFromAnna()
    const { client, welcome } = await greet(rig.url, {
      identity: { userId: "42", email: "anna@example.com" }
    })
    expect(welcome.verified).toBe(false)
    client.send({ type: "message", id: clientId(), text: "I am Anna, honest" })
    const ack = await client.next("ack")
    const thread = await rig.hub.thread(ack.conversationId)
    expect(thread.contact.id).not.toBe(email.contactId)
    expect(thread.messages.map((m) => m.channel)).toEqual(["chat"])
    const suggested = (await rig.hub.events.after(0)).filter((e) => e.body._tag === "contact.merge_suggested")
    expect(suggested).toHaveLength(1)
    await client.close()
  })

  it("a signature over the user id alone does not vouch for an email", async () => {
    const email = await emailFromAnna()
    // A signed-in user who adds someone else's email next to their own signature.
    const client = await TestClient.connect(rig.url)
    client.send({
      type: "hello",
      v: 1,
      cursor: 0,
      identity: { userId: "7", email: "anna@example.com", signature: signIdentity(secret, { userId: "7" }) }
    })
    await client.next("error", (e) => e.code === "bad_identity")
    expect((await client.closed).code).toBe(4003)
    const contacts = (await rig.hub.events.after(0)).filter((e) => e.body._tag === "contact.created")
    expect(contacts.map((e) => e.contactId)).toEqual([email.contactId])
  })
})
