import { mkdirSync, readFileSync } from "node:fs"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import type { Browser } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type ChatRig, startRig } from "./chatHarness.js"
import { launchChromium } from "./chromium.js"

let rig: ChatRig
let browser: Browser
let pages: Server
let pageUrl: string
const artifacts = new URL("./artifacts/", import.meta.url)

beforeAll(async () => {
  rig = await startRig()
  const widget = readFileSync(new URL("../dist/widget.js", import.meta.url))
  pages = createServer((req, res) => {
    if (req.url === "/widget.js") return res.writeHead(200, { "content-type": "text/javascript" }).end(widget)
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(`<!doctype html>
<html lang="en"><head><meta name="viewport" content="width=device-width,initial-scale=1"><title>Shop</title></head>
<body><h1>Shop</h1><a href="#top">Home</a>
<script src="/widget.js" data-server="${rig.url}" data-title="Support"></script></body></html>`)
  })
  await new Promise<void>((resolve) => pages.listen(0, "127.0.0.1", resolve))
  pageUrl = `http://127.0.0.1:${(pages.address() as AddressInfo).port}/`
  // Debian's Chromium; playwright-core never downloads a browser.
  browser = await launchChromium()
}, 30_000)

afterAll(async () => {
  await browser?.close()
  pages?.closeAllConnections()
  await new Promise((resolve) => pages?.close(resolve))
  await rig?.close()
})

const conversationOfFirstMessage = async () => {
  const event = (await rig.hub.events.after(0)).find((e) => e.body._tag === "message.received")
  if (event?.body._tag !== "message.received") throw new Error("no message stored")
  return event.body.conversationId
}

describe("chat widget in Chromium", () => {
  it("sends with the keyboard, shows the ack and the agent's reply, and keeps the thread over a reload", async () => {
    const context = await browser.newContext({ viewport: { width: 360, height: 640 } })
    const page = await context.newPage()
    await page.goto(pageUrl)

    // Keyboard only: Tab past the page's link to the launcher, Enter opens, focus lands in the input.
    await page.keyboard.press("Tab")
    await page.keyboard.press("Tab")
    await expect
      .poll(() => page.evaluate(() => document.activeElement?.hasAttribute("data-dialogi-chat")))
      .toBe(true)
    await page.keyboard.press("Enter")
    const dialog = page.getByRole("dialog", { name: "Support" })
    await dialog.waitFor()
    const box = await dialog.boundingBox()
    expect(box!.x).toBeGreaterThanOrEqual(0)
    expect(box!.x + box!.width).toBeLessThanOrEqual(360)

    const input = page.getByRole("textbox", { name: "Message" })
    await expect
      .poll(() => input.evaluate((node) => node === (node.getRootNode() as ShadowRoot).activeElement))
      .toBe(true)
    await page.keyboard.type("<img src=x onerror=alert(1)> where is my parcel?")
    await page.keyboard.press("Enter")
    const mine = page.locator('li[data-author="visitor"]')
    await expect.poll(() => mine.getAttribute("data-status")).toBe("sent")
    // Rendered as text, never as markup.
    expect(await mine.locator(".text").textContent()).toBe("<img src=x onerror=alert(1)> where is my parcel?")
    expect(await page.locator("img").count()).toBe(0)

    const conversationId = await conversationOfFirstMessage()
    await rig.hub.reply(conversationId, "It left our warehouse this morning.")
    const reply = page.locator('li[data-author="agent"] .text')
    await expect.poll(() => reply.textContent()).toBe("It left our warehouse this morning.")
    expect(await page.getByRole("log", { name: "Messages" }).getAttribute("aria-live")).toBe("polite")
    mkdirSync(artifacts, { recursive: true })
    await page.screenshot({ path: new URL("widget-360px.png", artifacts).pathname })

    await page.reload()
    await page.getByRole("button", { name: "Open chat" }).click()
    const texts = () => page.locator("li .text").allTextContents()
    expect(await texts()).toEqual([
      "<img src=x onerror=alert(1)> where is my parcel?",
      "It left our warehouse this morning."
    ])
    // After the reload the widget resumed from its cursor: a new reply arrives, nothing repeats.
    await rig.hub.reply(conversationId, "It arrives tomorrow.")
    await expect
      .poll(texts)
      .toEqual([
        "<img src=x onerror=alert(1)> where is my parcel?",
        "It left our warehouse this morning.",
        "It arrives tomorrow."
      ])
    expect((await rig.hub.thread(conversationId)).messages).toHaveLength(3)
    await context.close()
  }, 30_000)
})
