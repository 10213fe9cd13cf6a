import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { createHub, type DialogiEvent, type DialogiHub, MemoryStore } from "@dialogi/core"
import { Effect } from "effect"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { type ChatFanOut, createChatAdapter, hubFanOut, hubHistory } from "../src/index.js"
import { clientId, greet, secret, type TestClient } from "./chatHarness.js"

/**
 * The hub's event log, except that the first subscription breaks on the first agent reply it
 * would hand over, as a stream does when its database connection drops.
 */
const breaksOnce = (inner: ChatFanOut) => {
  let subscriptions = 0
  const fanOut: ChatFanOut = {
    head: inner.head,
    subscribe: (cursor) => {
      subscriptions += 1
      const stream = inner.subscribe(cursor)
      if (subscriptions > 1) return stream
      return {
        close: stream.close,
        [Symbol.asyncIterator]: async function* (): AsyncGenerator<DialogiEvent> {
          for await (const event of stream) {
            if (event.body._tag === "message.queued") {
              stream.close()
              throw new Error("connection to the database lost")
            }
            yield event
          }
        }
      }
    }
  }
  return { fanOut, subscriptions: () => subscriptions }
}

interface Rig {
  readonly a: DialogiHub
  readonly b: DialogiHub
  readonly urlB: string
  readonly logs: string[]
  readonly subscriptions: () => number
  readonly close: () => Promise<void>
}

// Two hubs on one memory store are two instances in one process: the store tells both hubs'
// event streams about every commit, and only A runs the send worker.
const startRig = async (): Promise<Rig> => {
  const store = await Effect.runPromise(MemoryStore.makeMemoryStore())
  const logs: string[] = []
  let hubA: DialogiHub | undefined
  let hubB: DialogiHub | undefined
  const chatA = createChatAdapter({ secret, history: hubHistory(() => hubA!) })
  const broken = breaksOnce(hubFanOut(() => hubB!))
  const chatB = createChatAdapter({ secret, history: hubHistory(() => hubB!), fanOut: broken.fanOut })
  hubA = await createHub({ store, adapters: [chatA], sendRetryDelayMs: 20, log: () => undefined })
  hubB = await createHub({
    store,
    adapters: [chatB],
    runWorkers: false,
    log: (level, message) => logs.push(`${level} ${message}`)
  })
  const server: Server = createServer((_req, res) => res.writeHead(404).end())
  chatB.attach(server)
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const [a, b] = [hubA, hubB]
  return {
    a,
    b,
    urlB: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/chat`,
    logs,
    subscriptions: broken.subscriptions,
    close: async () => {
      await b.close()
      await a.close()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}

let rig: Rig
const clients: TestClient[] = []
beforeEach(async () => {
  rig = await startRig()
})
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()))
  await rig.close()
})

describe("following the other instances", () => {
  it("starts again from the new head after the event stream fails, and delivers what it missed once", async () => {
    const { client } = await greet(rig.urlB)
    clients.push(client)
    client.send({ type: "message", id: clientId(), text: "Hi, I am on B" })
    const ack = await client.next("ack")
    await client.next("message", (m) => m.text === "Hi, I am on B")

    // The stream breaks on exactly this reply; B follows again and catches its sockets up.
    await rig.a.reply(ack.conversationId, "Written on A while B's stream broke")
    await client.next("message", (m) => m.text === "Written on A while B's stream broke", 10_000)
    expect(rig.subscriptions()).toBe(2)
    expect(
      rig.logs.some((line) => line.startsWith("warn [dialogi/chat] following other instances failed"))
    ).toBe(true)

    // Following again: the next reply is live, and nothing came twice.
    await rig.a.reply(ack.conversationId, "And live again")
    await client.next("message", (m) => m.text === "And live again", 5_000)
    const messages = client.all("message")
    expect(messages.map((m) => m.text)).toEqual([
      "Hi, I am on B",
      "Written on A while B's stream broke",
      "And live again"
    ])
    expect(new Set(messages.map((m) => m.seq)).size).toBe(3)
  })
})
