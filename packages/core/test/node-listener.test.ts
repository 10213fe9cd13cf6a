import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { afterEach, describe, expect, it } from "vitest"
import { toNodeListener } from "../src/index.js"

describe("toNodeListener", () => {
  const servers: Array<ReturnType<typeof createServer>> = []
  afterEach(() => {
    for (const s of servers.splice(0)) s.close()
  })
  const serve = async (...args: Parameters<typeof toNodeListener>) => {
    const server = createServer(toNodeListener(...args))
    servers.push(server)
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  }

  it("passes the raw body, headers and the configured public URL to the handler", async () => {
    let seen: { url: string; body: string; signature: string | null } | undefined
    const base = await serve(
      async (request) => {
        seen = { url: request.url, body: await request.text(), signature: request.headers.get("x-signature") }
        return new Response("ok", { status: 202, headers: { "x-reply": "1" } })
      },
      { publicBaseUrl: "https://support.example.com" }
    )
    const response = await fetch(`${base}/webhooks/sms?x=1`, {
      method: "POST",
      headers: { "x-signature": "abc" },
      body: "a=1&b=%C3%A4"
    })
    expect(response.status).toBe(202)
    expect(response.headers.get("x-reply")).toBe("1")
    expect(seen).toEqual({
      url: "https://support.example.com/webhooks/sms?x=1",
      body: "a=1&b=%C3%A4",
      signature: "abc"
    })
  })

  it("refuses bodies over the limit with 413 and answers 500 when the handler throws", async () => {
    const big = await serve(async () => new Response("never"), { maxBodyBytes: 10 })
    expect(
      (await fetch(big, { method: "POST", body: "x".repeat(100) }).catch(() => ({ status: 413 }))).status
    ).toBe(413)
    const failing = await serve(async () => {
      throw new Error("boom")
    })
    expect((await fetch(failing, { method: "POST", body: "x" })).status).toBe(500)
  })
})
