import { describe, expect, it } from "vitest"
import type { MessengerEvent } from "../src/index.js"
import { eventually, startHub } from "./hubHarness.js"
import {
  appId,
  fixture,
  makeAdapter,
  mockGraphForFile,
  pageBotAppId,
  pageId,
  psid,
  signed,
  textMessage
} from "./meta.js"

const graph = await mockGraphForFile()

/** An echo of a message the page sent, as Meta delivers it (sender = page, recipient = person). */
const echo = (message: Record<string, unknown>, timestamp = Date.now()) =>
  JSON.stringify({
    object: "page",
    entry: [
      {
        id: pageId,
        time: timestamp,
        messaging: [
          {
            sender: { id: pageId },
            recipient: { id: psid },
            timestamp,
            message: { is_echo: true, ...message }
          }
        ]
      }
    ]
  })

describe("echoes of messages the page sent outside dialogi", () => {
  it("stores a Page Inbox reply as an agent's sent message in the thread, once, and a page bot's as the bot's", async () => {
    const events: MessengerEvent[] = []
    const adapter = makeAdapter(graph, { onEvent: (e) => void events.push(e) })
    const hub = await startHub(adapter)
    try {
      const asked = Date.now() - 60_000
      await adapter.handleWebhook(signed(textMessage("m_customer_q", "do you ship to Oslo?", asked)))
      const inbox = fixture("echo-page-inbox").replace("1457764197627", String(Date.now() - 30_000))
      expect((await adapter.handleWebhook(signed(inbox))).status).toBe(200)
      // Meta retries the webhook: still one message.
      expect((await adapter.handleWebhook(signed(inbox))).status).toBe(200)
      const botEcho = echo({ app_id: Number(pageBotAppId), mid: "m_bot_answer", text: "Our bot says yes" })
      expect((await adapter.handleWebhook(signed(botEcho))).status).toBe(200)

      const conversations = await hub.listConversations()
      expect(conversations.items).toHaveLength(1)
      const thread = await hub.thread(conversations.items[0]!.id)
      expect(
        thread.messages.map((m) => [m.direction, m.author, m.status._tag, m.providerMessageId, m.parts])
      ).toEqual([
        [
          "inbound",
          { _tag: "contact" },
          "received",
          "m_customer_q",
          [{ _tag: "text", text: "do you ship to Oslo?" }]
        ],
        [
          "outbound",
          { _tag: "agent", id: "messenger:page-inbox" },
          "sent",
          "m_1457764197618:inbox_reply",
          [{ _tag: "text", text: "Answered from the Page Inbox" }]
        ],
        [
          "outbound",
          { _tag: "bot", id: `messenger:app:${pageBotAppId}` },
          "sent",
          "m_bot_answer",
          [{ _tag: "text", text: "Our bot says yes" }]
        ]
      ])
      // Stored, so not handed to the host as something dialogi could not carry.
      expect(events).toEqual([])
      // The customer's reply window still runs from their own message, not from the echo.
      const check = await hub.canReply(thread.conversation.id)
      expect(check).toMatchObject({ ok: true })
    } finally {
      await hub.close()
    }
  })

  it("stores our app's message sent without dialogi's marker, but never our own sends twice", async () => {
    const adapter = makeAdapter(graph)
    const hub = await startHub(adapter, true)
    try {
      await adapter.handleWebhook(signed(textMessage("m_customer_2", "hello")))
      const [conversation] = (await hub.listConversations()).items
      const reply = await hub.reply(conversation!.id, "sent by dialogi")
      const sent = await eventually(async () => {
        const m = (await hub.thread(conversation!.id)).messages.find((x) => x.id === reply.id)
        return m?.providerMessageId === undefined ? undefined : m
      })
      // Our send, echoed with the marker, and again matched by mid only.
      const ours = { app_id: Number(appId), mid: sent.providerMessageId, text: "sent by dialogi" }
      await adapter.handleWebhook(signed(echo({ ...ours, metadata: `dialogi:${reply.id}:0` })))
      await adapter.handleWebhook(signed(echo(ours)))
      // The host's own code used our app's token to send directly: a message of the page.
      await adapter.handleWebhook(signed(echo({ app_id: Number(appId), mid: "m_direct", text: "direct" })))
      const thread = await hub.thread(conversation!.id)
      expect(thread.messages.map((m) => [m.direction, m.providerMessageId])).toEqual([
        ["inbound", "m_customer_2"],
        ["outbound", sent.providerMessageId],
        ["outbound", "m_direct"]
      ])
      expect(thread.messages[2]?.author).toEqual({ _tag: "bot", id: `messenger:app:${appId}` })
    } finally {
      await hub.close()
    }
  })
})
