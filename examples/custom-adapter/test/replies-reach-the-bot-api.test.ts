import { createHub, type DialogiEvent, MemoryStore } from "@dialogi/core"
import { Effect } from "effect"
import { afterAll, beforeAll, expect, it } from "vitest"
import { createTelegramAdapter } from "../src/index.ts"
import {
  botToken,
  chatId,
  type FakeBotApi,
  secretToken,
  startFakeBotApi,
  updateRequest
} from "./fakeBotApi.ts"

let api: FakeBotApi
beforeAll(async () => {
  api = await startFakeBotApi()
})
afterAll(() => api.close())

const makeHub = async () =>
  createHub({
    store: await Effect.runPromise(MemoryStore.makeMemoryStore()),
    adapters: [createTelegramAdapter({ botToken, secretToken, apiBaseUrl: api.url })]
  })

const waitFor = async (hub: Awaited<ReturnType<typeof makeHub>>, tag: DialogiEvent["body"]["_tag"]) => {
  const subscription = hub.events.subscribe(0)
  for await (const event of subscription)
    if (event.body._tag === tag) {
      subscription.close()
      return event
    }
  throw new Error(`no ${tag}`)
}

it("a customer's message and the agent's reply travel through the Bot API", async () => {
  const hub = await makeHub()
  try {
    const response = await hub.webhook("telegram")(updateRequest("round-trip", secretToken))
    expect(response.status).toBe(200)
    const [received] = await hub.events.after(0).then((events) => events.filter((e) => e.conversationId))
    const conversationId = received!.conversationId!
    const thread = await hub.thread(conversationId)
    expect(thread.contact.identities).toEqual([
      { channel: "telegram", address: String(chatId), verified: true }
    ])
    expect(thread.contact.name).toBe("Anna")

    await hub.reply(conversationId, "Hi Anna, your order left the warehouse today.")
    const sent = await waitFor(hub, "message.sent")
    expect(api.sent.at(-1)).toEqual({
      chat_id: String(chatId),
      text: "Hi Anna, your order left the warehouse today."
    })
    expect(sent.body).toMatchObject({ providerMessageId: `${chatId}:${1000 + api.sent.length}` })
  } finally {
    await hub.close()
  }
})

it("acknowledges group chats without storing them", async () => {
  const hub = await makeHub()
  try {
    const response = await hub.webhook("telegram")(
      updateRequest("group", secretToken, { id: -100123, type: "supergroup" })
    )
    expect(response.status).toBe(200)
    expect(await hub.events.after(0)).toEqual([])
  } finally {
    await hub.close()
  }
})

it("refuses a bad config with the field's name and never echoes the token", () => {
  const attempt = () => createTelegramAdapter({ botToken: "not-a-token", secretToken })
  expect(attempt).toThrow(/invalid config: botToken/)
  expect(attempt).not.toThrow(/not-a-token/)
})
