import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import type { ChannelAdapter } from "@dialogi/core"
import { adapterSuite } from "@dialogi/core/testing"
import { afterAll } from "vitest"
import { chatSignatureHeader, createChatAdapter, signChatPost, signIdentity } from "../src/index.js"
import { secret, TestClient } from "./chatHarness.js"

// The recipient is a signed-in user, so the harness can open a real socket as them.
const userId = "conformance"
const recipient = `u_${userId}`
const historyFails = new WeakMap<ChannelAdapter, { fail: boolean }>()
const cleanups: Array<() => Promise<unknown>> = []
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup()
})

const post = (providerId: string, signature?: string) => {
  const body = JSON.stringify({
    visitor: "v_conformance-visitor",
    id: `id-${providerId}`,
    text: "Hello from the widget"
  })
  return new Request("http://localhost/chat/messages", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      [chatSignatureHeader]: signature ?? signChatPost(secret, body)
    },
    body
  })
}

adapterSuite("chat", {
  makeAdapter: () => {
    const flag = { fail: false }
    const adapter = createChatAdapter({
      secret,
      // The suite builds its own hub, so history is read through this switch: it stands for a
      // store that is down while the visitor is online.
      history: async () => {
        if (flag.fail) throw new Error("store unavailable")
        return []
      }
    })
    historyFails.set(adapter, flag)
    return adapter
  },
  inboundRequest: (_adapter, providerId) => post(providerId),
  forgedRequest: (_adapter, providerId) => post(providerId, signChatPost("another-secret-0123456789", "{}")),
  recipient,
  failNextSend: async (adapter, retryable) => {
    const chat = adapter as ReturnType<typeof createChatAdapter>
    if (!retryable) {
      // A blocked visitor is refused for good.
      chat.block(recipient)
      return
    }
    const server: Server = createServer()
    chat.attach(server)
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    const client = await TestClient.connect(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/chat`)
    client.send({
      type: "hello",
      v: 1,
      cursor: 0,
      identity: { userId, signature: signIdentity(secret, { userId }) }
    })
    await client.next("welcome")
    historyFails.get(adapter)!.fail = true
    cleanups.push(async () => {
      await client.close()
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    })
  }
})
