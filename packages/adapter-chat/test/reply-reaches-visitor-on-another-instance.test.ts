import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { createHub, type DialogiHub } from "@dialogi/core"
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest"
import { postgresStore } from "../../store-postgres/src/index.js"
import { createTestDatabase, requiredDatabaseUrl } from "../../store-postgres/test/testDatabase.js"
import {
  createChatAdapter,
  hubFanOut,
  hubHistory,
  hubOfflineEmail,
  type OfflineOutcome
} from "../src/index.js"
import { clientId, greet, secret, type TestClient } from "./chatHarness.js"

// Several instances only exist on a database server; PGlite is one process. This test needs
// PostgreSQL and fails (never skips) without it.
const serverUrl = requiredDatabaseUrl()
if (serverUrl === undefined)
  throw new Error(
    "[dialogi/chat] set DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test): this test runs two hub instances on one PostgreSQL database"
  )

/** One app instance: its own pool, hub, chat adapter and http server, on the shared database. */
interface Instance {
  readonly hub: DialogiHub
  readonly url: string
  /** What the offline fallback decided for replies this instance's send found no socket for. */
  readonly offline: OfflineOutcome[]
  readonly close: () => Promise<void>
}

const startInstance = async (databaseUrl: string, runWorkers: boolean): Promise<Instance> => {
  let hub: DialogiHub | undefined
  const offline: OfflineOutcome[] = []
  const store = await postgresStore({ connectionString: databaseUrl, pool: { max: 4 } })
  const chat = createChatAdapter({
    secret,
    history: hubHistory(() => hub!),
    fanOut: hubFanOut(() => hub!),
    // No email adapter here: a reply that no socket anywhere took would be refused (NoAdapter).
    offline: hubOfflineEmail(() => hub!, { store, afterMs: 3_000, onOutcome: (o) => offline.push(o) })
  })
  hub = await createHub({ store, adapters: [chat], runWorkers, sendRetryDelayMs: 20, log: () => undefined })
  const server: Server = createServer((_req, res) => res.writeHead(404).end())
  chat.attach(server)
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const openHub = hub
  return {
    hub: openHub,
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/chat`,
    offline,
    close: async () => {
      await openHub.close()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}

let database: { url: string; drop: () => Promise<void> }
let a: Instance
let b: Instance
beforeAll(async () => {
  database = await createTestDatabase(serverUrl)
  // A runs the send worker, B does not: every reply's send job is claimed by A, so a visitor
  // on B can only get it live through B following the event log.
  a = await startInstance(database.url, true)
  b = await startInstance(database.url, false)
})
afterAll(async () => {
  await b?.close()
  await a?.close()
  await database?.drop()
})

const clients: TestClient[] = []
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()))
})

const open = async (url: string, hello: Record<string, unknown> = {}) => {
  const greeted = await greet(url, hello)
  clients.push(greeted.client)
  return greeted
}

const statusesOf = async (hub: DialogiHub, messageId: string) =>
  (await hub.events.after(0, 5_000)).flatMap((e) =>
    e.body._tag === "message.status" && e.body.messageId === messageId ? [e.body.status._tag] : []
  )

/** Message frames a client got, checked to be each message once, in seq order. */
const shownOnce = (client: TestClient) => {
  const messages = client.all("message")
  expect(new Set(messages.map((m) => m.id)).size).toBe(messages.length)
  expect(messages.map((m) => m.seq)).toEqual([...messages.map((m) => m.seq)].sort((x, y) => x - y))
  return messages.map((m) => m.text)
}

describe("several hub instances on one PostgreSQL database", () => {
  it("delivers a reply written on instance A live to a visitor connected to instance B, once", async () => {
    const visitor = await open(b.url)
    visitor.client.send({ type: "message", id: clientId(), text: "Hello from B" })
    const ack = await visitor.client.next("ack")
    await visitor.client.next("message", (m) => m.text === "Hello from B")

    const reply = await a.hub.reply(ack.conversationId, "Answer written on A")
    // Bounded: the frame comes from B following the log (LISTEN/NOTIFY), not from a resume.
    const live = await visitor.client.next("message", (m) => m.text === "Answer written on A", 5_000)
    expect(live.author).toBe("agent")
    expect(live.id).toBe(reply.id)
    // A's send found no socket (sent); B's socket reported it delivered.
    await vi.waitFor(async () => expect(await statusesOf(a.hub, reply.id)).toContain("delivered"), {
      timeout: 10_000
    })
    // So the visitor had not left: the offline check (run by whichever instance claimed it)
    // sees the delivery and sends no email.
    const checked = () => [...a.offline, ...b.offline].filter((o) => o.messageId === reply.id)
    await vi.waitFor(() => expect(checked()).toHaveLength(1), { timeout: 15_000 })
    expect(checked()[0]).toMatchObject({
      _tag: "skipped",
      reason: "delivered"
    })

    // The same visitor in a second tab on A: the history once, then B's tab writes and A's
    // tab shows it live (A learns it from the log too).
    const tab = await open(a.url, {
      visitor: visitor.welcome.visitor,
      conversation: { id: ack.conversationId, token: (await visitor.client.next("conversation")).token }
    })
    await tab.client.next("message", (m) => m.text === "Answer written on A")
    visitor.client.send({ type: "message", id: clientId(), text: "Second message, from B" })
    await tab.client.next("message", (m) => m.text === "Second message, from B", 5_000)

    // A marker reply from B's hub (sent by A's worker) closes the run: nothing before it twice.
    await b.hub.reply(ack.conversationId, "marker")
    await visitor.client.next("message", (m) => m.text === "marker", 5_000)
    await tab.client.next("message", (m) => m.text === "marker", 5_000)
    expect(shownOnce(visitor.client)).toEqual([
      "Hello from B",
      "Answer written on A",
      "Second message, from B",
      "marker"
    ])
    expect(shownOnce(tab.client)).toEqual([
      "Hello from B",
      "Answer written on A",
      "Second message, from B",
      "marker"
    ])
  })

  it("replays replies written while the visitor was away exactly once when they come back on the other instance", async () => {
    const first = await open(b.url)
    first.client.send({ type: "message", id: clientId(), text: "Are you there?" })
    const ack = await first.client.next("ack")
    const binding = await first.client.next("conversation")
    const echo = await first.client.next("message")
    await first.client.close()

    const away: Array<{ readonly id: string }> = []
    for (const text of ["One", "Two", "Three"]) away.push(await b.hub.reply(ack.conversationId, text))
    await vi.waitFor(
      async () => {
        for (const reply of away) {
          const thread = await a.hub.thread(ack.conversationId)
          expect(thread.messages.find((m) => m.id === reply.id)?.status._tag).toBe("sent")
        }
      },
      { timeout: 10_000 }
    )

    // Back on A, from the cursor of the last message they saw.
    const back = await open(a.url, {
      visitor: first.welcome.visitor,
      conversation: { id: binding.id, token: binding.token },
      cursor: echo.seq
    })
    for (const text of ["One", "Two", "Three"]) await back.client.next("message", (m) => m.text === text)
    // Live again: a reply from A (sent by A's own worker, which A's log follower also sees).
    await a.hub.reply(ack.conversationId, "Four")
    await back.client.next("message", (m) => m.text === "Four", 5_000)
    await b.hub.reply(ack.conversationId, "marker")
    await back.client.next("message", (m) => m.text === "marker", 5_000)
    expect(shownOnce(back.client)).toEqual(["One", "Two", "Three", "Four", "marker"])
  })

  it("starts following at the head of the log, found without reading the log", async () => {
    const lastSeq = async () => {
      const all = await a.hub.events.after(0, 5_000)
      expect(all.length).toBeLessThan(5_000)
      return all[all.length - 1]!.seq
    }
    // Late receipts of the tests above may still append events: the head lies between two reads.
    const before = await lastSeq()
    const head = await hubFanOut(b.hub).head()
    const after = await lastSeq()
    expect(head).toBeGreaterThanOrEqual(before)
    expect(head).toBeLessThanOrEqual(after)
    expect(before).toBeGreaterThan(10)
  })
})
