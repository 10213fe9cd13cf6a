import { readFileSync } from "node:fs"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import type { IngestHook } from "@dialogi/core"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { chatSignatureHeader, signChatPost } from "../src/index.js"
import { type ChatRig, clientId, greet, secret, startRig } from "./chatHarness.js"
import { launchChromium } from "./chromium.js"

const noCasino: IngestHook = {
  name: "no-casino",
  run: (m) =>
    m.parts.some((p) => p._tag === "text" && /casino/i.test(p.text))
      ? { _tag: "veto", reason: "spam" }
      : undefined
}

let rig: ChatRig
beforeEach(async () => {
  rig = await startRig({}, { hooks: { ingest: [noCasino] } })
})
afterEach(() => rig.close())

const received = async () => (await rig.hub.events.after(0)).filter((e) => e.body._tag === "message.received")
const vetoes = async () =>
  (await rig.hub.events.after(0)).flatMap((e) => (e.body._tag === "hook.ingest_vetoed" ? [e.body] : []))

describe("a visitor message an ingest hook vetoed", () => {
  it("socket: answers a final `vetoed` error frame for that message (no retry hint), stores nothing, one veto", async () => {
    const { client, welcome } = await greet(rig.url)
    const id = clientId()
    client.send({ type: "message", id, text: "casino bonus inside" })
    const refused = await client.next("error", (e) => e.ref === id)
    expect(refused).toEqual({
      type: "error",
      code: "vetoed",
      message: "[dialogi/chat] this message was not accepted",
      ref: id
    })
    expect(client.all("ack")).toEqual([])
    expect(await received()).toEqual([])
    const address = welcome.visitor.split(".")[0]!
    expect(await vetoes()).toEqual([
      expect.objectContaining({
        hook: "no-casino",
        reason: "spam",
        channel: "chat",
        providerMessageId: `${address}/${id}`,
        address
      })
    ])
    // The next message of the same visitor goes through as usual.
    client.send({ type: "message", id: clientId(), text: "where is my order?" })
    await client.next("ack")
    expect(await received()).toHaveLength(1)
    await client.close()
  })

  it("signed post: answers 200 with the veto so the relaying backend does not retry, stores nothing, one veto", async () => {
    const body = JSON.stringify({ id: "post-0001", visitor: "v_backend", text: "CASINO", sentAt: Date.now() })
    const response = await rig.chat.handleWebhook!(
      new Request("http://localhost/chat/post", {
        method: "POST",
        headers: { "content-type": "application/json", [chatSignatureHeader]: signChatPost(secret, body) },
        body
      })
    )
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ vetoed: { hook: "no-casino", reason: "spam" } })
    expect(await received()).toEqual([])
    expect(await vetoes()).toEqual([expect.objectContaining({ providerMessageId: "v_backend/post-0001" })])
  })

  it("widget in Chromium: shows the message as failed with the notice and does not resend it", async () => {
    const widget = readFileSync(new URL("../dist/widget.js", import.meta.url))
    const pages: Server = createServer((req, res) => {
      if (req.url === "/widget.js")
        return res.writeHead(200, { "content-type": "text/javascript" }).end(widget)
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(`<!doctype html>
<html lang="en"><head><title>Shop</title></head><body>
<script src="/widget.js" data-server="${rig.url}" data-title="Support"></script></body></html>`)
    })
    await new Promise<void>((resolve) => pages.listen(0, "127.0.0.1", resolve))
    const browser = await launchChromium()
    try {
      const page = await browser.newPage()
      await page.goto(`http://127.0.0.1:${(pages.address() as AddressInfo).port}/`)
      await page.getByRole("button", { name: "Open chat" }).click()
      await page.getByRole("textbox", { name: "Message" }).fill("casino night!")
      await page.keyboard.press("Enter")
      const mine = page.locator('li[data-author="visitor"]')
      await expect.poll(() => mine.getAttribute("data-status")).toBe("failed")
      expect(await page.getByRole("status").first().textContent()).toBe("this message was not accepted")
      // A retryable error would be resent after 2 s (retryAfterMs); wait past that.
      await new Promise((r) => setTimeout(r, 2_500))
      expect(await vetoes()).toHaveLength(1)
      expect(await received()).toEqual([])
      expect(await mine.getAttribute("data-status")).toBe("failed")
    } finally {
      await browser.close()
      pages.closeAllConnections()
      await new Promise((resolve) => pages.close(resolve))
    }
  }, 30_000)
})
