import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { chatSignatureHeader, signChatPost } from "@dialogi/adapter-chat"
import type { DialogiHub } from "@dialogi/core"
import { pgliteStore } from "@dialogi/store-postgres"
import { afterAll, beforeAll, expect, it } from "vitest"
import { mountDialogi } from "../src/dialogi.ts"
import { Helpdesk } from "../src/helpdesk.ts"
import { createShopApp } from "../src/shop.ts"

const chatSecret = "test-chat-secret-0123456789"
const verifyToken = "test-verify-token"
const helpdesk = new Helpdesk()
let server: Server
let hub: DialogiHub
let base: string

beforeAll(async () => {
  const app = createShopApp()
  server = createServer(app)
  hub = await mountDialogi(
    app,
    server,
    {
      store: await pgliteStore(),
      chatSecret,
      messenger: {
        appId: "1",
        appSecret: "app-secret",
        verifyToken,
        pages: [{ pageId: "2", pageAccessToken: "t" }]
      }
    },
    helpdesk
  )
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
  await hub.close()
})

const chatPost = (id: string, text: string, secret = chatSecret) => {
  const body = JSON.stringify({ visitor: "v_anna-0001", id, text, name: "Anna" })
  return fetch(`${base}/webhooks/chat`, {
    method: "POST",
    headers: { "content-type": "application/json", [chatSignatureHeader]: signChatPost(secret, body) },
    body
  })
}

const postJson = (path: string, body: unknown) =>
  fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body)
  })

const eventually = async <A>(read: () => A | undefined): Promise<A> => {
  for (let i = 0; i < 200; i++) {
    const value = read()
    if (value !== undefined) return value
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  throw new Error("timed out")
}

const ticketWith = (kind: string) => () =>
  [...helpdesk.tickets.entries()].find(([, timeline]) => timeline.some((entry) => entry.kind === kind))

it("keeps the app's own routes working", async () => {
  expect(await (await fetch(`${base}/api/orders/7`)).json()).toEqual({ id: "7", status: "shipped" })
  expect((await fetch(`${base}/health`)).status).toBe(200)
})

it("answers Messenger's webhook handshake on the webhook route", async () => {
  const query = `hub.mode=subscribe&hub.verify_token=${verifyToken}&hub.challenge=31337`
  const response = await fetch(`${base}/webhooks/messenger?${query}`)
  expect(response.status).toBe(200)
  expect(await response.text()).toBe("31337")
  expect((await fetch(`${base}/webhooks/messenger?hub.mode=subscribe&hub.challenge=1`)).status).toBe(403)
})

it("refuses a forged webhook and the app hears nothing", async () => {
  const response = await chatPost("forged-0001", "let me in", "not-the-chat-secret-000")
  expect(response.status).toBe(403)
  expect(await hub.events.after(0)).toEqual([])
  expect(helpdesk.tickets.size).toBe(0)
})

it("forwards a customer's message to the app, and the app's reply goes out", async () => {
  expect((await chatPost("hello-0001", "Where is order 7?")).status).toBe(200)
  const [conversationId, timeline] = await eventually(ticketWith("message.received"))
  expect(timeline).toContainEqual(
    expect.objectContaining({ kind: "message.received", text: "Where is order 7?" })
  )

  const reply = await postJson(`/api/conversations/${conversationId}/reply`, {
    text: "It left the warehouse today.",
    agentId: "maija"
  })
  expect(reply.status).toBe(202)
  expect(await reply.json()).toMatchObject({ direction: "outbound", author: { _tag: "agent", id: "maija" } })
  await eventually(ticketWith("message.sent"))
  const sequence = helpdesk.tickets.get(conversationId)!.map((entry) => entry.seq)
  expect(sequence).toEqual([...sequence].sort((a, b) => a - b))
  expect(helpdesk.lastSeq).toBe((await hub.events.after(0)).at(-1)!.seq)
})

it("answers bad replies with typed errors and stores nothing", async () => {
  const before = (await hub.events.after(0)).length
  const missing = await postJson("/api/conversations/cv_does_not_exist/reply", {
    text: "hi",
    agentId: "maija"
  })
  expect(missing.status).toBe(404)
  expect((await missing.json()).error).toBe("NotFound")
  const [conversationId] = await eventually(ticketWith("message.received"))
  const empty = await postJson(`/api/conversations/${conversationId}/reply`, {
    text: "   ",
    agentId: "maija"
  })
  expect(empty.status).toBe(400)
  expect((await empty.json()).error).toBe("ParseError")
  expect((await hub.events.after(0)).length).toBe(before)
})
