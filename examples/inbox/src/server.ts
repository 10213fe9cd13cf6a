import { readFileSync } from "node:fs"
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import { createRequire } from "node:module"
import { signIdentity } from "@dialogi/adapter-chat"
import { type DialogiHub, toNodeListener } from "@dialogi/core"
import { Either, Redacted, Schema } from "effect"
import { type AgentAuth, AgentId, apiAgent, makeSignInLimiter } from "./agentAuth.ts"
import { enrollAgent } from "./agentRoster.ts"
import { type ConfiguredChannels, webhookFor } from "./channels.ts"
import type { InboxConfig } from "./config.ts"
import type { ReplyDue } from "./expectedReply.ts"
import { BadRequest, baseHeaders, readForm, redirect, sendHtml, sendJson } from "./httpExchange.ts"
import { makeInboxApi } from "./inboxApi.ts"
import { agentPresence } from "./liveEvents.ts"
import { customerPage, inboxCsp, inboxPage, signInPage } from "./pages.ts"

/** What the http server serves from. */
export interface InboxServerDeps {
  readonly config: InboxConfig
  readonly hub: DialogiHub
  readonly channels: ConfiguredChannels
  readonly auth: AgentAuth
  readonly chatSecret: Redacted.Redacted<string>
  readonly expectedReply: ((conversationId: string) => Promise<ReplyDue | undefined>) | undefined
  readonly eventHead: () => number
}

const decodeAgent = Schema.decodeUnknownEither(AgentId)
const file = (relative: string) => readFileSync(new URL(relative, import.meta.url))
const widgetScript = readFileSync(createRequire(import.meta.url).resolve("@dialogi/adapter-chat/widget.js"))

const publicAssets: Record<string, { type: string; body: Buffer }> = {
  "/assets/shop.css": { type: "text/css", body: file("../public/shop.css") },
  "/assets/sign-in.css": { type: "text/css", body: file("../public/sign-in.css") }
}
const inboxAssets: Record<string, { type: string; body: Buffer }> = {
  "/inbox/assets/inbox.css": { type: "text/css", body: file("../public/inbox.css") },
  "/inbox/assets/inbox.js": { type: "text/javascript", body: file("../public/inbox.js") }
}

const sendAsset = (res: ServerResponse, asset: { type: string; body: Buffer }): void => {
  res
    .writeHead(200, {
      ...baseHeaders,
      "content-type": `${asset.type}; charset=utf-8`,
      "cache-control": "no-cache"
    })
    .end(asset.body)
}

// A Host header only decides which URL the demo page tells its own visitor to connect to,
// and only when PUBLIC_URL is unset; anything unusual falls back to the listen address.
const plausibleHost = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9a-fA-F:]+\](:\d{1,5})?$/

/**
 * The app's http server: the public customer page, widget, webhooks and chat socket, and the
 * inbox (pages, assets, API) which answers only signed-in agents. Routing is an allow-list:
 * whatever is not explicitly public needs a session, so a new route cannot be public by accident.
 */
export const createInboxServer = (deps: InboxServerDeps): Server => {
  const { config, hub, channels, auth } = deps
  const api = makeInboxApi({
    hub,
    channels: channels.names,
    expectedReply: deps.expectedReply,
    eventHead: deps.eventHead,
    presence: agentPresence(channels.chat.setAgentsOnline)
  })
  const limiter = makeSignInLimiter()
  const secureCookies = config.publicUrl?.startsWith("https:") ?? false

  const baseUrl = (req: IncomingMessage) => {
    if (config.publicUrl) return config.publicUrl
    const host = req.headers.host
    return `http://${host && plausibleHost.test(host) ? host : `${config.host}:${config.port}`}`
  }

  const customer = (req: IncomingMessage, res: ServerResponse, url: URL) => {
    const base = baseUrl(req)
    const signedIn = url.searchParams.has("signed-in") && config.demoCustomerEmail !== undefined
    // A separate socket URL for the signed-in shop keeps the widget's saved anonymous thread
    // (localStorage is keyed by the URL) apart from the signed-in one.
    const chatUrl = `${base.replace(/^http/, "ws")}/chat${signedIn ? "?as=signed-in" : ""}`
    const email = config.demoCustomerEmail
    const identity =
      signedIn && email
        ? {
            userId: `shop-user:${email}`,
            email,
            name: email.split("@")[0]!,
            signature: signIdentity(Redacted.value(deps.chatSecret), { userId: `shop-user:${email}`, email })
          }
        : undefined
    const wsOrigin = new URL(chatUrl).origin
    sendHtml(
      res,
      200,
      customerPage(chatUrl, identity),
      `default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self' ${wsOrigin}; base-uri 'none'; frame-ancestors 'none'`
    )
  }

  const signIn = async (req: IncomingMessage, res: ServerResponse) => {
    const client = req.socket.remoteAddress ?? "unknown"
    if (limiter.blocked(client))
      return sendHtml(res, 429, signInPage("Too many attempts; wait a minute."), inboxCsp, {
        "retry-after": "60"
      })
    const form = await readForm(req)
    const agent = decodeAgent(form.get("agent") ?? "")
    if (Either.isLeft(agent) || agent.right === apiAgent)
      return sendHtml(
        res,
        400,
        signInPage(
          `Names are 1-40 letters, digits or . _ : @ - (no spaces), starting with a letter or digit, and not "${apiAgent}"`
        ),
        inboxCsp
      )
    if (!auth.tokenMatches(agent.right, form.get("token") ?? "")) {
      limiter.failed(client)
      return sendHtml(res, 401, signInPage("That token is not this inbox's token."), inboxCsp)
    }
    limiter.succeeded(client)
    await enrollAgent(hub, agent.right, config.agents)
    redirect(res, "/inbox", { "set-cookie": auth.signInCookie(agent.right, secureCookies) })
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://inbox.invalid")
    const path = url.pathname
    const method = req.method ?? "GET"

    const webhook = webhookFor(channels.webhooks, path)
    if (webhook)
      return toNodeListener(hub.webhook(webhook.channel), {
        publicBaseUrl: config.publicUrl ?? baseUrl(req)
      })(req, res)
    if (method === "GET" && path === "/") return customer(req, res, url)
    if (method === "GET" && path === "/widget.js")
      return sendAsset(res, { type: "text/javascript", body: widgetScript })
    if (method === "GET" && publicAssets[path]) return sendAsset(res, publicAssets[path])
    if (method === "GET" && path === "/healthz") return sendJson(res, 200, { ok: true })
    if (method === "GET" && path === "/favicon.ico") return void res.writeHead(204, baseHeaders).end()
    if (path === "/inbox/sign-in") {
      if (method === "GET") return sendHtml(res, 200, signInPage(undefined), inboxCsp)
      if (method === "POST") return signIn(req, res)
    }

    // Everything below needs a signed-in agent.
    const session = auth.sessionOf(req)
    if (!session) {
      if (path.startsWith("/inbox/api/")) return sendJson(res, 401, { error: "sign in first" })
      return redirect(res, "/inbox/sign-in")
    }
    if (method === "POST" && path === "/inbox/sign-out")
      return redirect(res, "/inbox/sign-in", { "set-cookie": auth.signOutCookie })
    if (method === "GET" && (path === "/inbox" || path === "/inbox/"))
      return sendHtml(res, 200, inboxPage(session.agentId), inboxCsp)
    if (method === "GET" && inboxAssets[path]) return sendAsset(res, inboxAssets[path])
    if (path.startsWith("/inbox/api/")) return api(req, res, session, url)
    sendJson(res, 404, { error: "not found" })
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) return res.end()
      if (error instanceof BadRequest) return sendJson(res, error.status, { error: error.message })
      console.error("[dialogi/inbox] request failed", error)
      sendJson(res, 500, { error: "internal error" })
    })
  })
  channels.chat.attach(server)
  return server
}
