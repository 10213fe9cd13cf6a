import { mkdirSync } from "node:fs"
import { mkdtemp, rm } from "node:fs/promises"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { signRawMail } from "@dialogi/adapter-email"
import type { Browser, Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { loadInboxConfig } from "../src/config.ts"
import { mailFrameShell } from "../src/mailFrame.ts"
import { type RunningInbox, startInbox } from "../src/startInbox.ts"
import { corpusFor } from "./fixtures/mailXssCorpus.ts"
import { artifacts, freePort, launchChromium, signInAgent } from "./inboxHarness.ts"

// Browser steps wait on a live page (socket, event stream, re-render); on a loaded 2-core
// machine that takes longer than vitest's 1 s default for expect.poll.
const eventually = <T>(read: () => T | Promise<T>, options: { timeout: number } = { timeout: 15_000 }) =>
  expect.poll(read, options)

const token = "mail-test-token-0123456789"
const webhookSecret = "mail-webhook-secret-0123456789"

let inbox: RunningInbox
let dataDir: string
let browser: Browser
let attackerServer: Server
let attacker: string
const attackerHits: string[] = []
let corpus: ReturnType<typeof corpusFor>
let conversationId: string

const mail = (index: number, html: string) =>
  Buffer.from(
    [
      "From: Mallory <mallory@evil.example>",
      "To: support@shop.example",
      `Subject: payload ${index}`,
      `Message-ID: <payload-${index}@evil.example>`,
      `Date: ${new Date(Date.UTC(2026, 10, 24, 9, index)).toUTCString()}`,
      "MIME-Version: 1.0",
      "Content-Type: text/html; charset=utf-8",
      "Content-Transfer-Encoding: 8bit",
      "",
      html
    ].join("\r\n")
  )

beforeAll(async () => {
  // The "attacker": every request that reaches it is a remote load the inbox let through.
  attackerServer = createServer((req, res) => {
    attackerHits.push(`${req.method} ${req.url}`)
    res.writeHead(200, { "content-type": "text/plain", "access-control-allow-origin": "*" }).end("x")
  })
  await new Promise<void>((resolve) => attackerServer.listen(0, "127.0.0.1", resolve))
  attacker = `http://127.0.0.1:${(attackerServer.address() as AddressInfo).port}`
  corpus = corpusFor(attacker)

  dataDir = await mkdtemp(join(tmpdir(), "dialogi-inbox-mail-"))
  const config = await loadInboxConfig(
    {
      PORT: "0",
      INBOX_DATA_DIR: dataDir,
      INBOX_TOKEN: token,
      CHAT_SECRET: "chat-secret-0123456789abc",
      EMAIL_ADDRESS: "support@shop.example",
      EMAIL_THREADING_SECRET: "threading-secret-0123456789",
      EMAIL_WEBHOOK_SECRET: webhookSecret,
      SMTP_HOST: "127.0.0.1",
      SMTP_PORT: String(await freePort())
    },
    dataDir
  )
  inbox = await startInbox(config, { log: () => undefined })
  for (const [index, payload] of corpus.entries()) {
    const raw = mail(index, payload.html)
    const response = await fetch(`${inbox.url}/webhooks/email`, {
      method: "POST",
      headers: { "content-type": "message/rfc822", "x-dialogi-signature": signRawMail(webhookSecret, raw) },
      body: raw
    })
    if (response.status >= 300) throw new Error(`${payload.name}: webhook answered ${response.status}`)
  }
  const { items } = await inbox.hub.listConversations({})
  conversationId = items[0]!.id
  browser = await launchChromium()
  mkdirSync(artifacts, { recursive: true })
}, 120_000)

afterAll(async () => {
  await browser?.close()
  await inbox?.close()
  attackerServer?.closeAllConnections()
  await new Promise((resolve) => attackerServer?.close(resolve))
  await rm(dataDir, { recursive: true, force: true })
})

/** Collects what would show that mail html escaped: reports from script, dialogs, remote requests. */
const watch = async (page: Page) => {
  const remote: string[] = []
  const dialogs: string[] = []
  const isRemote = (url: string) =>
    !url.startsWith(inbox.url) && !url.startsWith("data:") && !url.startsWith("about:")
  // Chromium announces some loads before its CSP check refuses them (they then fail with
  // "csp" and never leave the browser); only a finished load, or a hit at
  // the attacker's server, is a request that was made.
  page.on("requestfinished", (request) => {
    if (isRemote(request.url())) remote.push(request.url())
  })
  page.on("requestfailed", (request) => {
    const failure = request.failure()?.errorText ?? ""
    if (isRemote(request.url()) && !/csp/i.test(failure)) remote.push(`${request.url()} (${failure})`)
  })
  page.on("dialog", async (dialog) => {
    dialogs.push(dialog.message())
    await dialog.dismiss()
  })
  const listen = () => {
    const reports: unknown[] = []
    ;(window as unknown as { reports: unknown[] }).reports = reports
    addEventListener("message", (event) => reports.push(event.data))
  }
  // For documents loaded from now on, and for the one already open.
  await page.addInitScript(listen)
  await page.evaluate(listen)
  return {
    remote,
    dialogs,
    reports: () => page.evaluate(() => (window as unknown as { reports: unknown[] }).reports)
  }
}

/** Waits until every mail frame has loaded, then clicks the links a reader might click. */
const openAndPoke = async (page: Page) => {
  await page.goto(`${inbox.url}/inbox#${conversationId}`)
  await eventually(() => page.locator("iframe.mail").count(), { timeout: 15_000 }).toBe(corpus.length)
  await page.locator("#live.on").waitFor()
  for (const frame of page.frames().filter((f) => f !== page.mainFrame())) {
    await frame.waitForLoadState("load")
    for (const link of await frame.locator("a").all())
      await link.click({ timeout: 2_000, force: true }).catch(() => {})
  }
  // Animations (SVG animate/set with dur=1s), autofocus and refresh get time to fire.
  await page.waitForTimeout(1_500)
}

describe("mail html in the inbox (Chromium)", () => {
  it("renders the mail-XSS corpus sanitized in sandboxed frames: no script runs, nothing remote loads", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
    const page = await signInAgent(context, inbox.url, token)
    const seen = await watch(page)
    await openAndPoke(page)
    expect(await seen.reports()).toEqual([])
    expect(seen.dialogs).toEqual([])
    expect(seen.remote).toEqual([])
    expect(attackerHits).toEqual([])
    // The harmless content is still shown (the frames are not simply empty).
    const texts = await Promise.all(
      page
        .frames()
        .filter((f) => f !== page.mainFrame())
        .map((f) => f.locator("body").textContent())
    )
    expect(texts.join(" ")).toContain("click me")
    await page.screenshot({ path: `${artifacts}inbox-mail-corpus.png`, fullPage: false })
    await context.close()
  }, 90_000)

  it("the frame alone holds: the same corpus unsanitized inside the inbox's frame runs nothing and loads nothing", async () => {
    const context = await browser.newContext()
    const page = await signInAgent(context, inbox.url, token)
    const seen = await watch(page)
    // Swap the server-sanitized frames for raw payloads in the same frame document, as if an
    // adapter had stored unsanitized html and the server's sanitizer were missing.
    await page.route(`${inbox.url}/inbox/api/conversations/${conversationId}`, async (route) => {
      const response = await route.fetch()
      const view = (await response.json()) as {
        messages: Array<{ parts: Array<{ kind: string; frame?: string }> }>
      }
      view.messages.forEach((message, index) => {
        message.parts = [{ kind: "html", frame: mailFrameShell(corpus[index]!.html) }]
      })
      await route.fulfill({ response, json: view })
    })
    await openAndPoke(page)
    // The raw payloads really are in the frames: script elements and handlers, inert.
    const frames = page.frames().filter((f) => f !== page.mainFrame())
    const counts = await Promise.all(frames.map((f) => f.locator("script, [onerror], [onload]").count()))
    expect(counts.reduce((a, b) => a + b, 0)).toBeGreaterThan(5)
    expect(await seen.reports()).toEqual([])
    expect(seen.dialogs).toEqual([])
    expect(seen.remote).toEqual([])
    expect(attackerHits).toEqual([])
    await context.close()
  }, 90_000)

  it("control: the same payloads in a frame that allows scripts and has no policy do report and call home", async () => {
    const context = await browser.newContext()
    const page = await context.newPage()
    const seen = await watch(page)
    await page.goto(`${inbox.url}/healthz`)
    await page.evaluate(
      (html) => {
        const frame = document.createElement("iframe")
        frame.setAttribute("sandbox", "allow-scripts")
        frame.srcdoc = html
        document.body.append(frame)
      },
      corpus.map((p) => p.html).join("\n")
    )
    await eventually(() => seen.reports()).toContain("pwned:script")
    await eventually(() => attackerHits.length).toBeGreaterThan(0)
    attackerHits.length = 0
    await context.close()
  }, 60_000)
})
