import { createHub, MemoryStore } from "@dialogi/core"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { fixture, makeAdapter, mockGraphForFile, signed, textMessage, verifyToken } from "./meta.js"

const graph = await mockGraphForFile()

const withHub = async (
  f: (hub: Awaited<ReturnType<typeof createHub>>, adapter: ReturnType<typeof makeAdapter>) => Promise<void>
) => {
  const adapter = makeAdapter(graph)
  const hub = await createHub({
    store: await Effect.runPromise(MemoryStore.makeMemoryStore()),
    adapters: [adapter],
    runWorkers: false
  })
  try {
    await f(hub, adapter)
  } finally {
    await hub.close()
  }
}

const handshake = (query: Record<string, string>) =>
  new Request(`https://hooks.example.com/webhooks/messenger?${new URLSearchParams(query)}`)

describe("GET verification handshake", () => {
  it("echoes hub.challenge when mode and verify token match", async () => {
    const adapter = makeAdapter(graph)
    const response = await adapter.handleWebhook(
      handshake({ "hub.mode": "subscribe", "hub.verify_token": verifyToken, "hub.challenge": "1158201444" })
    )
    expect(response.status).toBe(200)
    expect(await response.text()).toBe("1158201444")
  })

  it("answers 403 for a wrong verify token or mode", async () => {
    const adapter = makeAdapter(graph)
    for (const query of [
      { "hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "8823" },
      { "hub.mode": "unsubscribe", "hub.verify_token": verifyToken, "hub.challenge": "8823" },
      { "hub.mode": "subscribe", "hub.challenge": "8823" }
    ]) {
      const response = await adapter.handleWebhook(handshake(query))
      expect(response.status).toBe(403)
      expect(await response.text()).not.toContain("8823")
    }
  })
})

describe("POST signature (X-Hub-Signature-256)", () => {
  it("accepts the raw bytes Meta signed, unicode escapes included", async () => {
    await withHub(async (hub, adapter) => {
      const body = fixture("message-text")
      expect(body).toContain("\\u2603")
      const response = await adapter.handleWebhook(signed(body))
      expect(response.status).toBe(200)
      const received = (await hub.events.after(0)).filter((e) => e.body._tag === "message.received")
      expect(received).toHaveLength(1)
    })
  })

  const rejected: Array<[string, () => Request]> = [
    [
      "a missing signature",
      () => {
        const body = textMessage("m_forged", "hi")
        return new Request("https://hooks.example.com/", { method: "POST", body })
      }
    ],
    ["a signature made with another secret", () => signed(textMessage("m_forged", "hi"), "someone-else")],
    [
      "a body changed after signing",
      () => {
        const original = signed(textMessage("m_forged", "hi"))
        return new Request(original.url, {
          method: "POST",
          headers: original.headers,
          body: textMessage("m_forged", "HI")
        })
      }
    ],
    [
      "a sha1 signature header only",
      () => {
        const body = textMessage("m_forged", "hi")
        return new Request("https://hooks.example.com/", {
          method: "POST",
          headers: { "x-hub-signature": "sha1=00" },
          body
        })
      }
    ],
    [
      "a truncated signature",
      () => {
        const request = signed(textMessage("m_forged", "hi"))
        const header = request.headers.get("x-hub-signature-256")!.slice(0, 40)
        return new Request(request.url, {
          method: "POST",
          headers: { "x-hub-signature-256": header },
          body: textMessage("m_forged", "hi")
        })
      }
    ]
  ]
  for (const [name, make] of rejected) {
    it(`rejects ${name} with 403 and stores nothing`, async () => {
      await withHub(async (hub, adapter) => {
        const response = await adapter.handleWebhook(make())
        expect(response.status).toBe(403)
        expect(await hub.events.after(0)).toEqual([])
      })
    })
  }

  it("rejects a signed but malformed payload with 400 and stores nothing", async () => {
    await withHub(async (hub, adapter) => {
      for (const body of [
        "not json",
        JSON.stringify({ object: "instagram", entry: [] }),
        JSON.stringify({ object: "page", entry: [{ id: "1111111111" }] })
      ]) {
        const response = await adapter.handleWebhook(signed(body))
        expect(response.status).toBe(400)
        expect(((await response.json()) as { error: string }).error).toMatch(/^\[dialogi\/messenger\]/)
      }
      expect(await hub.events.after(0)).toEqual([])
    })
  })

  it("rejects a batch naming an unconfigured page with 400 and stores none of it", async () => {
    await withHub(async (hub, adapter) => {
      const known = JSON.parse(textMessage("m_known", "hi")) as { entry: unknown[] }
      const unknown = JSON.parse(textMessage("m_unknown", "hi", Date.now(), "9999999999")) as {
        entry: unknown[]
      }
      const body = JSON.stringify({ object: "page", entry: [...known.entry, ...unknown.entry] })
      const response = await adapter.handleWebhook(signed(body))
      expect(response.status).toBe(400)
      expect(await response.text()).toContain("9999999999")
      expect(await hub.events.after(0)).toEqual([])
    })
  })

  it("answers 503 before the hub started, so Meta retries", async () => {
    const adapter = makeAdapter(graph)
    const response = await adapter.handleWebhook(signed(textMessage("m_early", "hi")))
    expect(response.status).toBe(503)
  })
})
