import { describe, expect, it } from "vitest"
import type { MessengerEvent } from "../src/index.js"
import { received, startHub } from "./hubHarness.js"
import {
  address,
  fixture,
  makeAdapter,
  mockGraphForFile,
  otherPageId,
  psid,
  signed,
  textMessage
} from "./meta.js"

const graph = await mockGraphForFile()

const deliver = async (name: string) => {
  const events: MessengerEvent[] = []
  const adapter = makeAdapter(graph, { onEvent: (e) => void events.push(e) })
  const hub = await startHub(adapter)
  const response = await adapter.handleWebhook(signed(fixture(name)))
  const messages = await received(hub)
  await hub.close()
  return { response, messages, events }
}

describe("inbound Messenger payloads as Meta documents them", () => {
  it("stores a text message with the mid as dedupe key and <pageId>:<psid> as the sender", async () => {
    const { response, messages } = await deliver("message-text")
    expect(response.status).toBe(200)
    expect(messages).toHaveLength(1)
    expect(messages[0]!.providerMessageId).toBe("m_1457764197618:41d102a3e1ae206a38")
    expect(messages[0]!.parts).toEqual([{ _tag: "text", text: "hello, world! Grüße ☃" }])
    expect(messages[0]!.sentAt.getTime()).toBe(1458692752478)
  })

  it("keeps attachments as references to Meta's URLs, and templates/fallbacks as readable text", async () => {
    const { messages } = await deliver("message-attachments")
    expect(messages[0]!.parts).toEqual([
      {
        _tag: "attachment",
        attachment: { ref: "https://scontent.xx.fbcdn.net/v/photo.jpg", contentType: "image/*" }
      },
      {
        _tag: "attachment",
        attachment: { ref: "https://cdn.fbsbx.com/v/invoice.pdf", contentType: "application/octet-stream" }
      },
      { _tag: "text", text: "[fallback] Shared link https://www.example.com/article" }
    ])
  })

  it("stores a quick reply as its text (payload in metadata) and a postback as its title", async () => {
    const quick = await deliver("message-quick-reply")
    expect(quick.messages[0]!.parts).toEqual([{ _tag: "text", text: "Red" }])
    const postback = await deliver("postback")
    expect(postback.messages[0]!.providerMessageId).toBe("m_postback_1")
    expect(postback.messages[0]!.parts).toEqual([{ _tag: "text", text: "Talk to a person" }])
  })

  it("hands a standalone referral and app_roles to the host instead of inventing a message", async () => {
    const referral = await deliver("referral")
    expect(referral.response.status).toBe(200)
    expect(referral.messages).toEqual([])
    expect(referral.events).toMatchObject([{ _tag: "referral", psid, referral: { ref: "spring-campaign" } }])
    const roles = await deliver("app-roles")
    expect(roles.events).toMatchObject([{ _tag: "app_roles", roles: { "123456789": ["primary_receiver"] } }])
  })

  it("stores a message delivered twice in one batch and again in a retry once", async () => {
    const adapter = makeAdapter(graph)
    const hub = await startHub(adapter)
    const one = JSON.parse(textMessage("m_dup", "twice")) as { entry: unknown[] }
    const batch = JSON.stringify({ object: "page", entry: [...one.entry, ...one.entry] })
    expect((await adapter.handleWebhook(signed(batch))).status).toBe(200)
    expect((await adapter.handleWebhook(signed(batch))).status).toBe(200)
    expect(await received(hub)).toHaveLength(1)
    await hub.close()
  })

  it("keeps the same PSID on two pages as two identities", async () => {
    const adapter = makeAdapter(graph)
    const hub = await startHub(adapter)
    await adapter.handleWebhook(signed(textMessage("m_page_a", "to page A")))
    await adapter.handleWebhook(signed(textMessage("m_page_b", "to page B", Date.now(), otherPageId)))
    const [a, b] = await received(hub)
    const threadA = await hub.thread(a!.conversationId)
    const threadB = await hub.thread(b!.conversationId)
    expect(threadA.contact.id).not.toBe(threadB.contact.id)
    expect(threadA.contact.identities.map((i) => i.address)).toEqual([address])
    expect(threadB.contact.identities.map((i) => i.address)).toEqual([`${otherPageId}:${psid}`])
    await hub.close()
  })

  it("joins the thread of a customer whose Messenger identity was verified-linked to their email", async () => {
    const adapter = makeAdapter(graph)
    const hub = await startHub(adapter)
    const email = await hub.ingest({
      channel: "email",
      providerMessageId: "<1@example.com>",
      from: { address: "anna@example.com", verified: true },
      parts: [{ _tag: "text", text: "my order is late" }],
      sentAt: Date.now() - 60_000
    })
    await hub.linkIdentity(email.contactId, { channel: "messenger", address, verified: true })
    await adapter.handleWebhook(signed(textMessage("m_after_link", "same person on Messenger")))
    const messages = await received(hub)
    expect(messages.map((m) => m.conversationId)).toEqual([email.conversationId, email.conversationId])
    await hub.close()
  })
})
