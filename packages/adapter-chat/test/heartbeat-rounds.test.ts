import { afterEach, describe, expect, it, vi } from "vitest"
import { type ChatRig, greet, startRig } from "./chatHarness.js"

let rig: ChatRig | undefined
afterEach(() => rig?.close())

describe("chat heartbeat", () => {
  // The heartbeat pings its sockets a slice at a time over each round; every socket must still
  // be pinged once a round, and a socket opened during a round must join the next one.
  it("pings every open socket each round, keeps the ones that answer and drops the one that does not", async () => {
    rig = await startRig({ heartbeatMs: 200 })
    const early = await Promise.all(Array.from({ length: 8 }, () => greet(rig!.url)))
    // Opened after the heartbeat started (the first greeted socket starts it).
    await new Promise((resolve) => setTimeout(resolve, 250))
    const late = await Promise.all(Array.from({ length: 4 }, () => greet(rig!.url)))
    const clients = [...early, ...late].map(({ client }) => client)
    const pings = clients.map(() => 0)
    for (const [i, client] of clients.entries())
      client.socket.on("ping", () => {
        pings[i] = pings[i]! + 1
      })
    // A peer that vanished without a close: its pongs never come back.
    const silent = clients[0]!
    silent.socket.pong = () => undefined

    await vi.waitFor(() => expect(Math.min(...pings.slice(1))).toBeGreaterThanOrEqual(3), {
      timeout: 10_000,
      interval: 50
    })
    expect((await silent.closed).code).toBe(1006)
    expect(rig.chat.connectionCount()).toBe(clients.length - 1)
    for (const client of clients.slice(1)) expect(client.socket.readyState).toBe(client.socket.OPEN)
    await Promise.all(clients.slice(1).map((client) => client.close()))
  })
})
