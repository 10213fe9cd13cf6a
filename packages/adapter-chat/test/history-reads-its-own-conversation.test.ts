import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { type HubEventReader, hubHistory } from "../src/index.js"
import { type ChatRig, clientId, greet, startRig } from "./chatHarness.js"

let rig: ChatRig
beforeEach(async () => {
  rig = await startRig()
})
afterEach(() => rig.close())

/** The rig's hub as a history reader that records every query it is asked. */
const spyOn = (hub: HubEventReader) => {
  const queries: Array<{ cursor: number; conversationId: string; limit: number }> = []
  const reader: HubEventReader = {
    events: {
      after: (cursor, query) => {
        queries.push({ cursor, ...query })
        return hub.events.after(cursor, query)
      }
    }
  }
  return { reader, queries }
}

describe("hubHistory", () => {
  it("reads only the socket's conversation: its public messages after the cursor, in order, across pages", async () => {
    const alice = await greet(rig.url)
    const bob = await greet(rig.url)
    const say = async (who: typeof alice, text: string) => {
      who.client.send({ type: "message", id: clientId(), text })
      return who.client.next("ack")
    }
    const first = await say(alice, "alice 1")
    await say(bob, "bob 1")
    await rig.hub.reply(first.conversationId, "agent to alice")
    await rig.hub.note(first.conversationId, "internal: VIP", { _tag: "agent", id: "a1" })
    for (let i = 2; i <= 4; i++) {
      await say(bob, `bob ${i}`)
      await say(alice, `alice ${i}`)
    }
    const conversationId = first.conversationId

    const { reader, queries } = spyOn(rig.hub)
    const history = hubHistory(reader, 2)
    const entries = await history({ conversationId, after: 0 })
    expect(entries.map((e) => (e.message.parts[0] as { text: string }).text)).toEqual([
      "alice 1",
      "agent to alice",
      "alice 2",
      "alice 3",
      "alice 4"
    ])
    const seqs = entries.map((e) => e.seq)
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
    // Every read named the conversation, and the pages walked only its events.
    expect(queries.every((q) => q.conversationId === conversationId && q.limit === 2)).toBe(true)
    const ownEvents = (await rig.hub.events.after(0, 5000)).filter((e) => e.conversationId === conversationId)
    expect(queries).toHaveLength(Math.floor(ownEvents.length / 2) + 1)

    // Resuming from a cursor gives exactly what came after it.
    expect((await history({ conversationId, after: seqs[1]! })).map((e) => e.seq)).toEqual(seqs.slice(2))
    expect(await history({ conversationId, after: seqs.at(-1)! })).toEqual([])
  })

  it("refuses a page size core would cut short", () => {
    expect(() => hubHistory(rig.hub, 0)).toThrow("pageSize")
    expect(() => hubHistory(rig.hub, 5_001)).toThrow("pageSize")
    expect(() => hubHistory(rig.hub, 1.5)).toThrow("pageSize")
  })
})
