import { afterEach, describe, expect, it, vi } from "vitest"
import { type ChatHistory, hubFanOut, hubHistory } from "../src/index.js"
import { type ChatRig, clientId, greet, startRig, type TestClient } from "./chatHarness.js"

/** History that counts its reads and answers slowly, so reads overlap the next commits. */
const counted = (history: ChatHistory) => {
  let reads = 0
  const read: ChatHistory = async (query) => {
    reads += 1
    const entries = await history(query)
    await new Promise((resolve) => setTimeout(resolve, 30))
    return entries
  }
  return { read, reads: () => reads }
}

/** The message frames a client got, checked to be each message once and in seq order. */
const shownOnce = (client: TestClient) => {
  const messages = client.all("message")
  expect(new Set(messages.map((m) => m.id)).size).toBe(messages.length)
  expect(messages.map((m) => m.seq)).toEqual([...messages.map((m) => m.seq)].sort((x, y) => x - y))
  return messages
}

const sendAll = async (client: TestClient, ids: ReadonlyArray<string>) => {
  for (const id of ids) {
    client.send({ type: "message", id, text: `message ${id}` })
    await client.next("ack", (a) => a.id === id)
  }
}

let rig: ChatRig | undefined
afterEach(() => rig?.close())

describe("echoes from the hub's event log (fanOut)", () => {
  it("brings every visitor's own messages back once and in order without reading history", async () => {
    let history: ReturnType<typeof counted> | undefined
    rig = await startRig((hub) => {
      history = counted(hubHistory(hub))
      return {
        history: history.read,
        fanOut: hubFanOut(hub),
        messageRate: { burst: 10, perSecond: 10 }
      }
    })
    const visitors = await Promise.all(Array.from({ length: 12 }, () => greet(rig!.url)))
    const sent = visitors.map(() => [clientId(), clientId(), clientId(), clientId()])
    await Promise.all(visitors.map(({ client }, i) => sendAll(client, sent[i]!)))

    for (const [i, { client }] of visitors.entries()) {
      await vi.waitFor(() => expect(client.all("message")).toHaveLength(4), { timeout: 10_000, interval: 20 })
      expect(shownOnce(client).map((m) => m.clientId)).toEqual(sent[i])
    }
    // New visitors: their conversations opened while the adapter followed the log, so every
    // echo came from the event itself.
    expect(history!.reads()).toBe(0)
    await new Promise((resolve) => setTimeout(resolve, 200))
    for (const { client } of visitors) expect(client.all("message")).toHaveLength(4)
    await Promise.all(visitors.map(({ client }) => client.close()))
  })

  it("reads history for a tab that resumes behind, then keeps it exactly once and in order", async () => {
    let history: ReturnType<typeof counted> | undefined
    rig = await startRig((hub) => {
      history = counted(hubHistory(hub))
      return { history: history.read, fanOut: hubFanOut(hub), messageRate: { burst: 20, perSecond: 20 } }
    })
    const first = await greet(rig.url)
    const early = [clientId(), clientId(), clientId()]
    await sendAll(first.client, early)
    await vi.waitFor(() => expect(first.client.all("message")).toHaveLength(3), { timeout: 5_000 })
    const echoes = first.client.all("message")
    const binding = first.client.all("conversation")[0]!
    const replyBefore = await rig.hub.reply(String(binding.id), "an answer while the tab was away")

    // A second tab of the same visitor resumes from the first echo: it is behind the log by two
    // messages and a reply, which only a history read can bring. Meanwhile the first tab keeps
    // writing, so live events reach the resuming tab while its read is still under way.
    const second = await greet(rig.url, {
      visitor: first.welcome.visitor,
      conversation: { id: binding.id, token: binding.token },
      cursor: echoes[0]!.seq
    })
    const late = [clientId(), clientId(), clientId()]
    await sendAll(first.client, late)
    const replyAfter = await rig.hub.reply(String(binding.id), "a live answer")

    const expectedSecond = [...early.slice(1), replyBefore.id, ...late, replyAfter.id]
    await vi.waitFor(() => expect(second.client.all("message")).toHaveLength(expectedSecond.length), {
      timeout: 10_000,
      interval: 20
    })
    expect(shownOnce(second.client).map((m) => m.clientId ?? m.id)).toEqual(expectedSecond)
    await vi.waitFor(() => expect(first.client.all("message")).toHaveLength(8), { timeout: 10_000 })
    expect(shownOnce(first.client).map((m) => m.clientId ?? m.id)).toEqual([
      ...early,
      replyBefore.id,
      ...late,
      replyAfter.id
    ])
    // The resume read (and the replies' sends) read history; the visitor's echoes did not.
    expect(history!.reads()).toBeGreaterThan(0)
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(second.client.all("message")).toHaveLength(expectedSecond.length)
    expect(first.client.all("message")).toHaveLength(8)
    await Promise.all([first.client.close(), second.client.close()])
  })
})
