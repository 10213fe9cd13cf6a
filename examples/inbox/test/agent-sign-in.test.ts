import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { loadInboxConfig } from "../src/config.ts"
import { type RunningInbox, startInbox } from "../src/startInbox.ts"

const token = "sign-in-test-token-0123456789"
let inbox: RunningInbox
let dataDir: string
let conversationId: string

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "dialogi-inbox-auth-"))
  const config = await loadInboxConfig(
    { PORT: "0", INBOX_DATA_DIR: dataDir, INBOX_TOKEN: token, CHAT_SECRET: "chat-secret-0123456789abc" },
    dataDir
  )
  inbox = await startInbox(config, { log: () => undefined })
  const { conversationId: id } = await inbox.hub.ingest({
    channel: "chat",
    providerMessageId: "v1/m1",
    from: { address: "visitor-1" },
    parts: [{ _tag: "text", text: "private question" }],
    sentAt: Date.now()
  })
  conversationId = id
  // New conversations are routed to team support (nobody is online): wait for that first, so
  // that "changes nothing" below compares against the routed conversation.
  const deadline = Date.now() + 15_000
  while ((await inbox.hub.thread(id)).conversation.assignee._tag !== "team") {
    if (Date.now() > deadline) throw new Error("the conversation was not routed to team support")
    await new Promise((r) => setTimeout(r, 25))
  }
}, 60_000)

afterAll(async () => {
  await inbox?.close()
  await rm(dataDir, { recursive: true, force: true })
})

/** Every page, asset and API route of the inbox, with a body where the route takes one. */
const inboxRoutes = () => [
  { method: "GET", path: "/inbox" },
  { method: "GET", path: "/inbox/" },
  { method: "GET", path: "/inbox/assets/inbox.js" },
  { method: "GET", path: "/inbox/assets/inbox.css" },
  { method: "GET", path: "/inbox/api/me" },
  { method: "GET", path: "/inbox/api/conversations" },
  { method: "GET", path: "/inbox/api/conversations?status=all" },
  { method: "GET", path: `/inbox/api/conversations/${conversationId}` },
  { method: "GET", path: "/inbox/api/events?after=0" },
  { method: "POST", path: `/inbox/api/conversations/${conversationId}/reply`, body: { text: "hi" } },
  { method: "POST", path: `/inbox/api/conversations/${conversationId}/note`, body: { text: "note" } },
  {
    method: "POST",
    path: `/inbox/api/conversations/${conversationId}/assign`,
    body: { assignee: { _tag: "agent", id: "eve" } }
  },
  { method: "POST", path: `/inbox/api/conversations/${conversationId}/status`, body: { status: "resolved" } },
  { method: "POST", path: "/inbox/sign-out" },
  { method: "GET", path: "/inbox/api/does-not-exist" },
  { method: "GET", path: "/inbox/anything/else" }
]

const call = (
  route: { method: string; path: string; body?: unknown },
  headers: Record<string, string> = {}
) =>
  fetch(`${inbox.url}${route.path}`, {
    method: route.method,
    redirect: "manual",
    headers: { ...headers, ...(route.body === undefined ? {} : { "content-type": "application/json" }) },
    ...(route.body === undefined ? {} : { body: JSON.stringify(route.body) })
  })

const signIn = (form: Record<string, string>) =>
  fetch(`${inbox.url}/inbox/sign-in`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(form).toString()
  })

const isRefused = async (response: Response) => {
  const body = await response.text()
  const refused =
    (response.status === 401 && !body.includes("private question")) ||
    (response.status === 303 && response.headers.get("location") === "/inbox/sign-in" && body === "")
  return refused ? "refused" : `${response.status}: ${body.slice(0, 200)}`
}

const unchanged = async () => {
  const thread = await inbox.hub.thread(conversationId)
  expect(thread.messages).toHaveLength(1)
  expect(thread.conversation.status).toBe("open")
  expect(thread.conversation.assignee).toEqual({ _tag: "team", id: "support" })
}

describe("agent sign-in", () => {
  it("refuses every inbox page, asset and API route without a session, and changes nothing", async () => {
    for (const route of inboxRoutes())
      expect([route.path, await isRefused(await call(route))]).toEqual([route.path, "refused"])
    await unchanged()
  })

  it("refuses wrong bearer tokens and forged, tampered or foreign session cookies", async () => {
    const ok = await signIn({ agent: "mikko", token })
    const cookie = ok.headers.get("set-cookie")!.split(";")[0]!
    const [name, value] = cookie.split("=") as [string, string]
    const [payload, mac] = value.split(".") as [string, string]
    const tampered = `${Buffer.from(`admin\n${Math.floor(Date.now() / 1000)}`).toString("base64url")}.${mac}`
    const expired = Buffer.from(`mikko\n${Math.floor(Date.now() / 1000) - 8 * 24 * 3600}`).toString(
      "base64url"
    )
    const attempts: Array<Record<string, string>> = [
      { authorization: "Bearer wrong-token-0123456789" },
      { authorization: `Bearer ${token}x` },
      { authorization: `Basic ${Buffer.from(`agent:${token}`).toString("base64")}` },
      { cookie: `${name}=${tampered}` },
      { cookie: `${name}=${payload}.${"A".repeat(mac.length)}` },
      { cookie: `${name}=${expired}.${mac}` },
      { cookie: `${name}=${payload}` },
      { cookie: `other=${value}` }
    ]
    for (const headers of attempts)
      for (const route of inboxRoutes())
        expect([headers, route.path, await isRefused(await call(route, headers))]).toEqual([
          headers,
          route.path,
          "refused"
        ])
    await unchanged()
  })

  it("public routes stay public: customer page, widget, sign-in page", async () => {
    for (const path of ["/", "/widget.js", "/inbox/sign-in", "/assets/shop.css", "/assets/sign-in.css"])
      expect([path, (await fetch(`${inbox.url}${path}`)).status]).toEqual([path, 200])
  })

  it("with the token an agent reaches every route, and writes are recorded under their name", async () => {
    const headers = { authorization: `Bearer ${token}` }
    for (const route of inboxRoutes().filter((r) => r.method === "GET" && !r.path.includes("events"))) {
      const response = await call(route, headers)
      const expected = route.path.includes("does-not-exist") || route.path.includes("anything") ? 404 : 200
      expect([route.path, response.status]).toEqual([route.path, expected])
    }
    // The event stream answers as text/event-stream and starts at the cursor asked for.
    const controller = new AbortController()
    const events = await fetch(`${inbox.url}/inbox/api/events?after=0`, {
      headers,
      signal: controller.signal
    })
    expect(events.headers.get("content-type")).toContain("text/event-stream")
    const reader = events.body!.getReader()
    let text = ""
    while (!text.includes("message.received")) text += new TextDecoder().decode((await reader.read()).value)
    expect(text).toMatch(/id: \d+\nevent: change\ndata: \{"seq":\d+,"type":"message.received"/)
    controller.abort()

    const note = await call(
      { method: "POST", path: `/inbox/api/conversations/${conversationId}/note`, body: { text: "checked" } },
      headers
    )
    expect(note.status).toBe(201)
    const thread = await inbox.hub.thread(conversationId)
    expect(thread.messages.at(-1)?.author).toEqual({ _tag: "agent", id: "api" })

    // The cookie from the form works the same way, under the agent's name.
    const cookie = (await signInFresh("mikko.k")).split(";")[0]!
    const assigned = await call(
      {
        method: "POST",
        path: `/inbox/api/conversations/${conversationId}/assign`,
        body: { assignee: { _tag: "agent", id: "mikko.k" } }
      },
      { cookie }
    )
    expect(assigned.status).toBe(200)
    const page = await call({ method: "GET", path: "/inbox" }, { cookie })
    expect(await page.text()).toContain('data-agent="mikko.k"')
  })

  it("bad bodies are refused with 4xx and change nothing", async () => {
    const headers = { authorization: `Bearer ${token}` }
    const before = (await inbox.hub.thread(conversationId)).messages.length
    const bad = [
      { path: "reply", body: { text: "" } },
      { path: "reply", body: { text: "x", channel: "" } },
      { path: "note", body: { nope: 1 } },
      { path: "assign", body: { assignee: { _tag: "agent", id: "" } } },
      { path: "status", body: { status: "deleted" } }
    ]
    for (const { path, body } of bad) {
      const response = await call(
        { method: "POST", path: `/inbox/api/conversations/${conversationId}/${path}`, body },
        headers
      )
      expect([path, response.status]).toEqual([path, 400])
    }
    const notJson = await fetch(`${inbox.url}/inbox/api/conversations/${conversationId}/note`, {
      method: "POST",
      headers: { ...headers, "content-type": "text/plain" },
      body: JSON.stringify({ text: "cross-site form" })
    })
    expect(notJson.status).toBe(415)
    const refused = await call(
      {
        method: "POST",
        path: `/inbox/api/conversations/${conversationId}/reply`,
        body: { text: "x", channel: "sms" }
      },
      headers
    )
    expect(refused.status).toBe(409)
    expect(await refused.json()).toEqual({
      error: "sms is not configured in this inbox",
      refusal: "NoAdapter"
    })
    expect((await inbox.hub.thread(conversationId)).messages).toHaveLength(before)
  })

  it("a wrong token gets no cookie; ten wrong tokens lock that address out for a minute", async () => {
    const wrong = await signIn({ agent: "mikko", token: "not-the-token" })
    expect(wrong.status).toBe(401)
    expect(wrong.headers.get("set-cookie")).toBeNull()
    const badName = await signIn({ agent: "<script>", token })
    expect(badName.status).toBe(400)
    expect(badName.headers.get("set-cookie")).toBeNull()
    for (let i = 0; i < 9; i++) await signIn({ agent: "mikko", token: `guess-${i}` })
    const locked = await signIn({ agent: "mikko", token })
    expect(locked.status).toBe(429)
    expect(locked.headers.get("set-cookie")).toBeNull()
  })
})

const signInFresh = async (agent: string) => {
  const response = await fetch(`${inbox.url}/inbox/sign-in`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ agent, token }).toString()
  })
  if (response.status !== 303) throw new Error(`sign-in answered ${response.status}`)
  return response.headers.get("set-cookie")!
}
