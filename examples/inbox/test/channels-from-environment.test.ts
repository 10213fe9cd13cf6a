import { createHmac } from "node:crypto"
import { readFileSync } from "node:fs"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { signBody } from "@dialogi/adapter-facebook"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { InboxConfigError, loadInboxConfig } from "../src/config.ts"
import { type RunningInbox, startInbox } from "../src/startInbox.ts"
import { freePort, inboxApi } from "./inboxHarness.ts"

const token = "channels-test-token-0123456789"
const twilioToken = "twilio-auth-token-0123456789"
const appSecret = "fb-app-secret-0123456789"
const fixture = (path: string) => readFileSync(new URL(`../../../packages/${path}`, import.meta.url), "utf8")

let inbox: RunningInbox
let dataDir: string
let publicUrl: string

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "dialogi-inbox-channels-"))
  const port = await freePort()
  const nowhere = `http://127.0.0.1:${await freePort()}`
  publicUrl = `http://127.0.0.1:${port}`
  const config = await loadInboxConfig(
    {
      PORT: String(port),
      PUBLIC_URL: publicUrl,
      INBOX_DATA_DIR: dataDir,
      INBOX_TOKEN: token,
      CHAT_SECRET: "chat-secret-0123456789abc",
      TWILIO_ACCOUNT_SID: "AC00000000000000000000000000000001",
      TWILIO_AUTH_TOKEN: twilioToken,
      TWILIO_MESSAGING_SERVICE_SID: "MG00000000000000000000000000000001",
      TWILIO_API_BASE_URL: nowhere,
      FB_APP_ID: "123456789",
      FB_APP_SECRET: appSecret,
      FB_VERIFY_TOKEN: "fb-verify-token",
      FB_PAGE_ID: "1111111111",
      FB_PAGE_TOKEN: "fb-page-token",
      FB_GRAPH_BASE_URL: nowhere
    },
    dataDir
  )
  inbox = await startInbox(config, { log: () => undefined })
}, 60_000)

afterAll(async () => {
  await inbox?.close()
  await rm(dataDir, { recursive: true, force: true })
})

/** Twilio's documented request signature: HMAC-SHA1 over the URL and the sorted form fields. */
const twilioSignature = (url: string, params: Record<string, string>) =>
  createHmac("sha1", twilioToken)
    .update(
      url +
        Object.keys(params)
          .sort()
          .map((key) => key + params[key])
          .join("")
    )
    .digest("base64")

interface ThreadJson {
  messages: Array<{ channel: string; parts: Array<{ text?: string }> }>
  channels: Array<{ channel: string; available: boolean; reason?: string }>
  defaultChannel?: string
}
const threads = async () => {
  const { items } = await inboxApi<{ items: Array<{ id: string }> }>(
    inbox.url,
    token,
    "/conversations?status=all"
  )
  return Promise.all(items.map((c) => inboxApi<ThreadJson>(inbox.url, token, `/conversations/${c.id}`)))
}

describe("channels from the environment", () => {
  it("mounts chat, SMS/voice and Messenger when their settings are present", () => {
    expect(inbox.channels).toEqual(["chat", "sms", "voice", "messenger"])
    expect(inbox.webhooks.map((w) => w.path)).toEqual(["/twilio/sms", "/twilio/voice", "/webhooks/messenger"])
  })

  it("Messenger: the verify handshake, a signed message lands in the inbox, an unsigned one is refused", async () => {
    const handshake = (verifyToken: string) =>
      fetch(
        `${inbox.url}/webhooks/messenger?hub.mode=subscribe&hub.verify_token=${verifyToken}&hub.challenge=4242`
      )
    const ok = await handshake("fb-verify-token")
    expect([ok.status, await ok.text()]).toEqual([200, "4242"])
    expect((await handshake("wrong")).status).toBe(403)

    const body = fixture("adapter-facebook/test/fixtures/message-text.json")
    const unsigned = await fetch(`${inbox.url}/webhooks/messenger`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body
    })
    expect(unsigned.status).toBe(403)
    expect(await threads()).toEqual([])
    const signed = await fetch(`${inbox.url}/webhooks/messenger`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-hub-signature-256": signBody(appSecret, body) },
      body
    })
    expect(signed.status).toBe(200)
    const [thread] = await threads()
    expect(thread?.messages.map((m) => [m.channel, m.parts[0]?.text])).toEqual([
      ["messenger", "hello, world! Grüße ☃"]
    ])
    // The picker says why each channel cannot reach this customer now.
    expect(thread?.defaultChannel).toBe("messenger")
    expect(thread?.channels).toContainEqual({
      channel: "sms",
      available: false,
      reason: "the customer has no sms address"
    })
    // Meta's fixture is from 2016: the 24 h window is long closed, and the picker says so.
    expect(thread?.channels).toContainEqual({
      channel: "messenger",
      available: false,
      reason: "the messenger reply window closed 2016-03-24T00:25:52.478Z"
    })
  })

  it("SMS: a request signed for the public URL lands in the inbox, an unsigned or re-signed one does not", async () => {
    const params = JSON.parse(fixture("adapter-phone/test/fixtures/inbound-sms.json")) as Record<
      string,
      string
    >
    const post = (signature: string | undefined) =>
      fetch(`${inbox.url}/twilio/sms`, {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          ...(signature ? { "x-twilio-signature": signature } : {})
        },
        body: new URLSearchParams(params).toString()
      })
    expect((await post(undefined)).status).toBe(403)
    expect((await post(twilioSignature("http://evil.example/twilio/sms", params))).status).toBe(403)
    const signed = await post(twilioSignature(`${publicUrl}/twilio/sms`, params))
    expect(signed.status).toBeLessThan(300)
    const texts = (await threads()).flatMap((t) => t.messages.map((m) => `${m.channel}: ${m.parts[0]?.text}`))
    expect(texts.sort()).toEqual([
      "messenger: hello, world! Grüße ☃",
      "sms: Hi, my order has not arrived yet"
    ])
  })

  it("a half-configured channel stops the start with the variable to set", async () => {
    const attempts: Array<[Record<string, string>, RegExp]> = [
      [{ SMTP_HOST: "smtp.example.com" }, /EMAIL_ADDRESS, EMAIL_THREADING_SECRET and SMTP_HOST/],
      [{ TWILIO_ACCOUNT_SID: "AC1", TWILIO_AUTH_TOKEN: "x", TWILIO_FROM: "+1" }, /PUBLIC_URL/],
      [{ FB_APP_ID: "1" }, /FB_APP_SECRET/],
      [{ INBOX_TOKEN: "short" }, /INBOX_TOKEN must be at least 16/],
      [{ PORT: "70000" }, /PORT/]
    ]
    for (const [env, message] of attempts) {
      const error = await loadInboxConfig(env, dataDir).then(
        () => undefined,
        (e: unknown) => e
      )
      expect(error).toBeInstanceOf(InboxConfigError)
      expect((error as InboxConfigError).message).toMatch(message)
    }
  })
})
