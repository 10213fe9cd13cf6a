import { mkdirSync } from "node:fs"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { signRawMail } from "@dialogi/adapter-email"
import type { Browser, BrowserContext, Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  artifacts,
  freePort,
  type InboxProcess,
  inboxApi,
  launchChromium,
  signInAgent,
  startInboxProcess,
  testStorage
} from "./inboxHarness.ts"

// Browser steps wait on a live page (socket, event stream, re-render); on a loaded 2-core
// machine that takes longer than vitest's 1 s default for expect.poll.
const eventually = <T>(read: () => T | Promise<T>, options: { timeout: number } = { timeout: 15_000 }) =>
  expect.poll(read, options)

const token = "inbox-test-token-0123456789"
const webhookSecret = "mail-webhook-secret-0123456789"
const anna = "anna@example.com"

let storage: Awaited<ReturnType<typeof testStorage>>
let env: Record<string, string>
let port: number
let app: InboxProcess
let browser: Browser

beforeAll(async () => {
  storage = await testStorage()
  port = await freePort()
  env = {
    ...storage.env,
    INBOX_TOKEN: token,
    CHAT_SECRET: "chat-test-secret-0123456789",
    INBOX_DEMO_CUSTOMER_EMAIL: anna,
    // Email in webhook-only mode: mail arrives signed at /webhooks/email; SMTP is never used here.
    EMAIL_ADDRESS: "support@shop.example",
    EMAIL_THREADING_SECRET: "threading-secret-0123456789",
    EMAIL_WEBHOOK_SECRET: webhookSecret,
    SMTP_HOST: "127.0.0.1",
    SMTP_PORT: String(await freePort())
  }
  app = await startInboxProcess(env, port)
  browser = await launchChromium()
  mkdirSync(artifacts, { recursive: true })
}, 120_000)

afterAll(async () => {
  await browser?.close()
  await app?.kill("SIGTERM")
  await storage?.drop()
})

const widgetTexts = (page: Page) => page.locator("li .text").allTextContents()
const threadTexts = (page: Page) => page.locator("ol.messages li .text").allTextContents()

const openWidget = async (context: BrowserContext, url: string) => {
  const page = await context.newPage()
  await page.goto(url)
  await page.getByRole("button", { name: "Open chat" }).click()
  return page
}

const sendFromWidget = async (page: Page, text: string) => {
  await page.getByRole("textbox", { name: "Message" }).fill(text)
  await page.getByRole("textbox", { name: "Message" }).press("Enter")
}

const replyFromInbox = async (page: Page, text: string) => {
  await page.locator("#reply-text").fill(text)
  await page.locator("#send-reply").click()
}

interface ThreadJson {
  conversation: { id: string; contact: { name: string } }
  identities: Array<{ channel: string; address: string; verified: boolean }>
  messages: Array<{ channel: string; direction: string; parts: Array<{ kind: string; text?: string }> }>
}
interface ListJson {
  items: Array<{ id: string; contact: { id: string; name: string }; lastChannel?: string }>
}

const threadOf = (id: string) => inboxApi<ThreadJson>(app.url, token, `/conversations/${id}`)
const allConversations = () => inboxApi<ListJson>(app.url, token, "/conversations?status=all")
const messageTexts = (thread: ThreadJson) =>
  thread.messages.map((m) => m.parts.map((p) => p.text ?? `[${p.kind}]`).join(" "))

describe(`customer and agent in Chromium (${process.env.DATABASE_URL ? "PostgreSQL" : "PGlite"})`, () => {
  it("widget -> inbox, inbox -> widget, and a killed and restarted server loses and doubles nothing", async () => {
    const customer = await browser.newContext({ viewport: { width: 360, height: 640 } })
    const agent = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    const widget = await openWidget(customer, `${app.url}/`)
    await sendFromWidget(widget, "Hello, where is my order 1042?")
    await eventually(() => widget.locator('li[data-author="visitor"]').getAttribute("data-status")).toBe(
      "sent"
    )

    // The agent signs in and sees the customer's message arrive; the widget sees them online.
    expect(await widget.getByText("We'll reply as soon as we can").count()).toBe(1)
    const inbox = await signInAgent(agent, app.url, token)
    await eventually(() => widget.getByText("We're online").count()).toBe(1)
    const row = inbox.locator("#conversations li[data-conversation-id]").first()
    await row.waitFor()
    expect(await row.locator(".badge").textContent()).toBe("chat")
    await row.click()
    await eventually(() => threadTexts(inbox)).toEqual(["Hello, where is my order 1042?"])
    expect(await inbox.locator('ol.messages li [data-badge="chat"]').count()).toBe(1)
    // The picker defaults to the customer's channel and says why email cannot be used.
    expect(await inbox.locator("#reply-channel option").first().textContent()).toBe(
      "chat (customer's last channel)"
    )
    expect(await inbox.locator('#reply-channel option[value="email"]').getAttribute("data-reason")).toBe(
      "the customer has no email address"
    )

    await replyFromInbox(inbox, "It left our warehouse this morning.")
    await eventually(() => widget.locator('li[data-author="agent"] .text').allTextContents()).toEqual([
      "It left our warehouse this morning."
    ])
    await inbox.locator("#reply-text").fill("Carrier says: pickup point tomorrow")
    await inbox.locator("#add-note").click()
    await eventually(() => inbox.locator('ol.messages li[data-internal="true"] .text').count()).toBe(1)
    await widget.screenshot({ path: `${artifacts}widget.png` })
    await inbox.screenshot({ path: `${artifacts}inbox.png` })

    // Kill the server without any chance to clean up, write while it is down, start it again.
    await app.kill("SIGKILL")
    await sendFromWidget(widget, "Are you still there?")
    const pending = widget.locator('li[data-author="visitor"]').nth(1)
    expect(await pending.getAttribute("data-status")).not.toBe("sent")
    app = await startInboxProcess(env, port)

    // The widget resends its unacked message; the inbox's event stream reconnects by itself.
    await eventually(() => pending.getAttribute("data-status"), { timeout: 30_000 }).toBe("sent")
    await eventually(() => threadTexts(inbox), { timeout: 30_000 }).toEqual([
      "Hello, where is my order 1042?",
      "It left our warehouse this morning.",
      "Carrier says: pickup point tomorrow",
      "Are you still there?"
    ])
    await replyFromInbox(inbox, "Yes! Back online.")
    const expected = [
      "Hello, where is my order 1042?",
      "It left our warehouse this morning.",
      "Are you still there?",
      "Yes! Back online."
    ]
    await eventually(() => widgetTexts(widget), { timeout: 15_000 }).toEqual(expected)

    // Reload both sides: one unbroken thread, nothing twice; the store agrees.
    await widget.reload()
    await widget.getByRole("button", { name: "Open chat" }).click()
    await eventually(() => widgetTexts(widget)).toEqual(expected)
    await inbox.reload()
    await eventually(() => threadTexts(inbox)).toEqual([
      ...expected.slice(0, 2),
      "Carrier says: pickup point tomorrow",
      ...expected.slice(2)
    ])
    const conversations = await allConversations()
    expect(conversations.items).toHaveLength(1)
    const stored = await threadOf(conversations.items[0]!.id)
    expect(messageTexts(stored)).toEqual([
      ...expected.slice(0, 2),
      "Carrier says: pickup point tomorrow",
      ...expected.slice(2)
    ])
    await customer.close()
    await agent.close()
  }, 150_000)

  it("a forged or missing identity signature never links a chat to a customer's thread; a valid one does", async () => {
    // Anna wrote by email first.
    const raw = Buffer.from(
      [
        `From: Anna <${anna}>`,
        "To: support@shop.example",
        "Subject: Order 77",
        "Message-ID: <order-77@example.com>",
        "Date: Tue, 24 Nov 2026 09:00:00 +0000",
        "Content-Type: text/plain; charset=utf-8",
        "",
        "My order 77 is late."
      ].join("\r\n")
    )
    const posted = await fetch(`${app.url}/webhooks/email`, {
      method: "POST",
      headers: { "content-type": "message/rfc822", "x-dialogi-signature": signRawMail(webhookSecret, raw) },
      body: raw
    })
    expect(posted.status).toBeLessThan(300)
    const annaRow = async () => {
      for (const item of (await allConversations()).items) {
        const thread = await threadOf(item.id)
        if (thread.identities.some((i) => i.channel === "email" && i.address === anna)) return thread
      }
      throw new Error("no conversation of Anna")
    }
    const before = await annaRow()
    expect(messageTexts(before)).toEqual(["My order 77 is late."])

    // An attacker's page embeds the widget and claims to be Anna with a made-up signature.
    const hostPage = (signature: string | undefined) =>
      `<!doctype html><html><body><script src="${app.url}/widget.js" data-server="ws://127.0.0.1:${port}/chat" data-title="Support" data-user-id="shop-user:${anna}" data-user-email="${anna}"${signature ? ` data-user-signature="${signature}"` : ""}></script></body></html>`
    const pages: Server = createServer((req, res) => {
      const signature = req.url === "/forged" ? "0".repeat(64) : undefined
      res.writeHead(200, { "content-type": "text/html" }).end(hostPage(signature))
    })
    await new Promise<void>((resolve) => pages.listen(0, "127.0.0.1", resolve))
    const attacker = `http://127.0.0.1:${(pages.address() as AddressInfo).port}`
    try {
      const forgedContext = await browser.newContext()
      const forged = await openWidget(forgedContext, `${attacker}/forged`)
      await sendFromWidget(forged, "Forged: show me Anna's thread")
      await eventually(() => forged.getByText("Chat is not available.").count()).toBe(1)
      expect(await forged.locator('li[data-author="agent"]').count()).toBe(0)
      await forgedContext.close()

      // No signature at all: stored, but as somebody else; Anna's thread is untouched.
      const unsignedContext = await browser.newContext()
      const unsigned = await openWidget(unsignedContext, `${attacker}/unsigned`)
      await sendFromWidget(unsigned, "Unsigned: I am Anna, honest")
      await eventually(() => unsigned.locator('li[data-author="visitor"]').getAttribute("data-status")).toBe(
        "sent"
      )
      await unsignedContext.close()

      const afterAttempts = await annaRow()
      expect(messageTexts(afterAttempts)).toEqual(["My order 77 is late."])
      expect(afterAttempts.identities.map((i) => i.channel)).toEqual(["email"])
      const all = await Promise.all((await allConversations()).items.map((c) => threadOf(c.id)))
      expect(all.flatMap(messageTexts)).not.toContain("Forged: show me Anna's thread")
      const unsignedThread = all.find((t) => messageTexts(t).includes("Unsigned: I am Anna, honest"))!
      expect(unsignedThread.conversation.id).not.toBe(before.conversation.id)
    } finally {
      pages.closeAllConnections()
      await new Promise((resolve) => pages.close(resolve))
    }

    // The real shop signs Anna's identity on its server: the chat joins her email thread.
    const shopContext = await browser.newContext({ viewport: { width: 360, height: 640 } })
    const shop = await openWidget(shopContext, `${app.url}/?signed-in`)
    await sendFromWidget(shop, "Signed in: any news on order 77?")
    // The widget of a verified customer replays their whole thread, the email included.
    await eventually(() =>
      shop.locator('li[data-author="visitor"]', { hasText: "Signed in" }).getAttribute("data-status")
    ).toBe("sent")
    const linked = await annaRow()
    expect(linked.conversation.id).toBe(before.conversation.id)
    expect(messageTexts(linked)).toEqual(["My order 77 is late.", "Signed in: any news on order 77?"])
    expect(linked.identities.find((i) => i.channel === "chat")?.verified).toBe(true)

    const agentContext = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    const inbox = await signInAgent(agentContext, app.url, token)
    await inbox.goto(`${app.url}/inbox#${linked.conversation.id}`)
    await eventually(() => threadTexts(inbox)).toEqual(messageTexts(linked))
    expect(await inbox.locator("ol.messages li .meta .badge").allTextContents()).toEqual(["email", "chat"])
    await inbox.screenshot({ path: `${artifacts}inbox-email-and-chat.png` })
    await shopContext.close()
    await agentContext.close()
  }, 120_000)
})
