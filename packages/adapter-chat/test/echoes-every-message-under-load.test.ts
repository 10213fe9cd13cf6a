import { afterEach, describe, expect, it, vi } from "vitest"
import { type ChatHistory, hubHistory } from "../src/index.js"
import { type ChatRig, clientId, greet, startRig } from "./chatHarness.js"

/** History that answers slowly, as a loaded database does: reads overlap the next commits. */
const slow =
  (history: ChatHistory): ChatHistory =>
  async (query) => {
    const entries = await history(query)
    await new Promise((resolve) => setTimeout(resolve, 50))
    return entries
  }

let rig: ChatRig | undefined
afterEach(() => rig?.close())

describe("echoes under load", () => {
  // Echo reads run a few at a time per adapter, and a visitor's waiting echo stands in for their
  // later messages: every message must still come back to its sender once, in order.
  it("echoes every message of many visitors sending at once, each once and in order", async () => {
    rig = await startRig((hub) => ({
      history: slow(hubHistory(hub)),
      messageRate: { burst: 10, perSecond: 10 }
    }))
    const visitors = await Promise.all(Array.from({ length: 16 }, () => greet(rig!.url)))
    const sent = visitors.map(() => [clientId(), clientId(), clientId()])
    // Each visitor sends their next message as soon as the previous one is acked, which is while
    // that message's echo read is still under way.
    await Promise.all(
      visitors.map(async ({ client }, i) => {
        for (const id of sent[i]!) {
          client.send({ type: "message", id, text: `message ${id}` })
          await client.next("ack", (a) => a.id === id)
        }
      })
    )

    for (const [i, { client }] of visitors.entries()) {
      await vi.waitFor(() => expect(client.all("message")).toHaveLength(3), { timeout: 10_000, interval: 20 })
      const echoes = client.all("message")
      expect(echoes.map((e) => e.clientId)).toEqual(sent[i])
      expect(echoes.map((e) => e.seq)).toEqual([...echoes.map((e) => e.seq)].sort((a, b) => a - b))
    }
    // Nothing more arrives late: no echo was sent twice.
    await new Promise((resolve) => setTimeout(resolve, 200))
    for (const { client } of visitors) expect(client.all("message")).toHaveLength(3)
    await Promise.all(visitors.map(({ client }) => client.close()))
  })
})
