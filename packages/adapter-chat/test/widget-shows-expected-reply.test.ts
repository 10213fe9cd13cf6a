import { mkdirSync, readFileSync } from "node:fs"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import type { Browser } from "playwright-core"
import { afterAll, beforeAll, expect, it } from "vitest"
import { hubExpectedReply } from "../src/index.js"
import { type ChatRig, startRig } from "./chatHarness.js"
import { launchChromium } from "./chromium.js"

let rig: ChatRig
let browser: Browser
let pages: Server
let pageUrl: string
const artifacts = new URL("./artifacts/", import.meta.url)

beforeAll(async () => {
  rig = await startRig((hub) => ({ expectedReply: hubExpectedReply(hub) }), {
    sla: { policies: [{ id: "chat", targets: { firstResponse: 2 * 60 * 60_000 } }] }
  })
  const widget = readFileSync(new URL("../dist/widget.js", import.meta.url))
  pages = createServer((req, res) => {
    if (req.url === "/widget.js") return res.writeHead(200, { "content-type": "text/javascript" }).end(widget)
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(`<!doctype html>
<html lang="en"><head><meta name="viewport" content="width=device-width,initial-scale=1"><title>Shop</title></head>
<body><h1>Shop</h1><script src="/widget.js" data-server="${rig.url}" data-title="Support"></script></body></html>`)
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

it("the widget shows the SLA's expected reply time while a reply is owed, and hides it once answered", async () => {
  const context = await browser.newContext({ viewport: { width: 360, height: 640 }, locale: "en-GB" })
  const page = await context.newPage()
  await page.goto(pageUrl)
  await page.getByRole("button", { name: "Open chat" }).click()
  const eta = page.locator(".eta")
  expect(await eta.isHidden()).toBe(true)

  await page.getByRole("textbox", { name: "Message" }).fill("Can I change my delivery address?")
  await page.keyboard.press("Enter")
  await eta.waitFor({ state: "visible" })
  const event = (await rig.hub.events.after(0)).find((e) => e.body._tag === "message.received")
  if (event?.body._tag !== "message.received") throw new Error("no message stored")
  const conversationId = event.body.conversationId
  const dueAt = (await rig.hub.sla.expectedReply(conversationId))!.dueAt!.getTime()
  // The time is the clock's due time, formatted in the visitor's locale by the browser.
  const shown = await page.evaluate(
    (due) =>
      `Expect a reply by ${new Date(due).toLocaleString(undefined, { weekday: "short", hour: "numeric", minute: "2-digit" })}`,
    dueAt
  )
  await expect.poll(() => eta.textContent()).toBe(shown)
  mkdirSync(artifacts, { recursive: true })
  await page.screenshot({ path: new URL("widget-expected-reply.png", artifacts).pathname })

  await rig.hub.reply(conversationId, "Yes, send us the new one.")
  await expect
    .poll(() => page.locator('li[data-author="agent"] .text').textContent())
    .toBe("Yes, send us the new one.")
  await expect.poll(() => eta.isHidden()).toBe(true)
  await context.close()
}, 30_000)
