import type { DialogiHub } from "@dialogi/core"
import { describe, expect, it } from "vitest"
import { received, startHub } from "./hubHarness.js"
import {
  graphVersion,
  makeAdapter,
  mockGraphForFile,
  otherPageId,
  pageId,
  signed,
  textMessage
} from "./meta.js"

const graph = await mockGraphForFile()
graph.profile("5550001", {
  first_name: "Peter",
  last_name: "Chang",
  profile_pic: "https://cdn.example/p.jpg"
})

const profileCalls = (from: number) =>
  graph.requests.slice(from).filter((r) => r.method === "GET" && /^\/v[\d.]+\/\d+$/.test(r.path))

const contactNameOf = async (hub: DialogiHub, mid: string) => {
  const message = (await received(hub)).find((m) => m.providerMessageId === mid)
  return (await hub.thread(message!.conversationId)).contact.name
}

/** Both pages allow profile lookups in dialogi's config; the mock grants it only to the first. */
const pages = [
  { pageId, pageAccessToken: "page-token-1", userProfile: true },
  { pageId: otherPageId, pageAccessToken: "page-token-3", userProfile: true }
]

describe("profile names (User Profile API)", () => {
  it("names a new contact from the person's profile, asking once per person", async () => {
    const adapter = makeAdapter(graph, { pages })
    const hub = await startHub(adapter)
    try {
      const before = graph.requests.length
      await adapter.handleWebhook(signed(textMessage("m_p1", "hi", Date.now(), pageId, "5550001")))
      await adapter.handleWebhook(signed(textMessage("m_p2", "anyone?", Date.now(), pageId, "5550001")))
      expect(await contactNameOf(hub, "m_p1")).toBe("Peter Chang")
      const calls = profileCalls(before)
      expect(calls).toHaveLength(1)
      expect(calls[0]).toMatchObject({
        path: `/${graphVersion}/5550001`,
        token: "page-token-1",
        query: { fields: "first_name,last_name,profile_pic" }
      })
    } finally {
      await hub.close()
    }
  })

  it("stores the message without a name when there is no profile, and does not ask again for that person", async () => {
    const adapter = makeAdapter(graph, { pages })
    const hub = await startHub(adapter)
    try {
      const before = graph.requests.length
      for (const mid of ["m_np1", "m_np2", "m_np3"])
        expect(
          (await adapter.handleWebhook(signed(textMessage(mid, "hello", Date.now(), pageId, "5550002"))))
            .status
        ).toBe(200)
      expect((await received(hub)).map((m) => m.providerMessageId)).toEqual(["m_np1", "m_np2", "m_np3"])
      expect(await contactNameOf(hub, "m_np1")).toBeUndefined()
      expect(profileCalls(before)).toHaveLength(1)
    } finally {
      await hub.close()
    }
  })

  it("stops asking for a page once Meta says the app lacks the permission", async () => {
    const adapter = makeAdapter(graph, { pages })
    const hub = await startHub(adapter)
    try {
      const before = graph.requests.length
      for (const [mid, psid] of [
        ["m_denied_1", "5550003"],
        ["m_denied_2", "5550004"],
        ["m_denied_3", "5550005"]
      ] as const)
        expect(
          (await adapter.handleWebhook(signed(textMessage(mid, "hi", Date.now(), otherPageId, psid)))).status
        ).toBe(200)
      expect(await received(hub)).toHaveLength(3)
      expect(profileCalls(before)).toHaveLength(1)
    } finally {
      await hub.close()
    }
  })

  it("never asks without the page's userProfile flag", async () => {
    const adapter = makeAdapter(graph)
    const hub = await startHub(adapter)
    try {
      const before = graph.requests.length
      await adapter.handleWebhook(signed(textMessage("m_noflag", "hi", Date.now(), pageId, "5550001")))
      expect(await contactNameOf(hub, "m_noflag")).toBeUndefined()
      expect(profileCalls(before)).toEqual([])
    } finally {
      await hub.close()
    }
  })
})
