import { timingSafeEqual } from "node:crypto"
import { type AdapterContext, type DeliveryStatus, isHookVetoed } from "@dialogi/core"
import { Redacted } from "effect"
import { formatAddress } from "./address.js"
import type { ConversationIndex } from "./ConversationIndex.js"
import type { ResolvedConfig } from "./config.js"
import type { HandledMessages } from "./HandledMessages.js"
import { toEnvelope, toOutboundRecord } from "./inbound.js"
import type { OutboundLedger } from "./OutboundLedger.js"
import { MalformedPayload, type MessengerEvent, parseWebhook } from "./parse.js"
import type { ProfileNames } from "./profileNames.js"
import type { LastInbound } from "./replyWindow.js"
import { ownMetadataPrefix } from "./send.js"
import { signatureHeader, verifySignature } from "./signature.js"
import { applyHandover, type ThreadOwners } from "./threadControl.js"

/** What the webhook handler reads and updates besides the hub. */
export interface WebhookState {
  readonly ledger: OutboundLedger
  readonly lastInbound: LastInbound
  readonly owners: ThreadOwners
  readonly conversations: ConversationIndex
  readonly profiles: ProfileNames
  readonly handled: HandledMessages
  readonly context: () => AdapterContext | undefined
  /** The hub bridge's reaction to a committed thread-control event, when the host follows the hub. */
  readonly onHandover: () =>
    | ((event: Extract<MessengerEvent, { _tag: "handover" }>) => Promise<void>)
    | undefined
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } })

const sameSecret = (expected: Redacted.Redacted<string>, given: string | null): boolean => {
  if (given === null) return false
  const a = Buffer.from(Redacted.value(expected))
  const b = Buffer.from(given)
  return a.length === b.length && timingSafeEqual(a, b)
}

/** Meta's subscription handshake: echo `hub.challenge` when the verify token matches. */
const handshake = (config: ResolvedConfig, request: Request): Response => {
  const params = new URL(request.url).searchParams
  const challenge = params.get("hub.challenge")
  if (
    params.get("hub.mode") !== "subscribe" ||
    challenge === null ||
    !sameSecret(config.verifyToken, params.get("hub.verify_token"))
  )
    return json(403, { error: `[dialogi/${config.channel}] verification failed: wrong mode or verify token` })
  return new Response(challenge, { status: 200, headers: { "content-type": "text/plain" } })
}

/** An echo of a message dialogi sent: marked by our metadata, or a mid the ledger knows. */
export const isOwnEcho = (
  ledger: OutboundLedger,
  event: Extract<MessengerEvent, { _tag: "echo" }>
): boolean =>
  event.message.metadata?.startsWith(ownMetadataPrefix) === true ||
  ledger.primaryOf(event.message.mid) !== undefined

class Retry extends Error {}
class Rejected extends Error {}

const tagOf = (error: unknown) => (error as { _tag?: unknown } | null)?._tag

/**
 * The fetch-style webhook handler: GET handshake; POST verified (X-Hub-Signature-256 over the
 * raw bytes) before anything is parsed, then every event of the batch applied in order, and
 * 200 only once the hub committed all of them. A store failure answers 503 so that Meta
 * retries the whole batch; the hub dedupes by mid, so a retry never stores twice.
 */
export const makeWebhookHandler =
  (config: ResolvedConfig, state: WebhookState) =>
  async (request: Request): Promise<Response> => {
    if (request.method === "GET") return handshake(config, request)
    if (request.method !== "POST") return json(405, { error: "method not allowed" })
    const body = new Uint8Array(await request.arrayBuffer())
    if (!verifySignature(Redacted.value(config.appSecret), body, request.headers.get(signatureHeader)))
      return json(403, { error: `[dialogi/${config.channel}] missing or invalid X-Hub-Signature-256` })
    const context = state.context()
    if (!context) return json(503, { error: `[dialogi/${config.channel}] hub not started` })
    let events: ReadonlyArray<MessengerEvent>
    try {
      events = parseWebhook(new TextDecoder().decode(body))
    } catch (error) {
      if (error instanceof MalformedPayload) return json(400, { error: error.message })
      throw error
    }
    // Unknown pages are refused before anything is stored, so a batch is applied whole or not at all.
    const unknown = [...new Set(events.map((e) => e.pageId))].filter((id) => !config.pages.has(id))
    if (unknown.length > 0)
      return json(400, {
        error: `[dialogi/${config.channel}] webhook for unconfigured page(s) ${unknown.join(", ")}`
      })

    // Profile lookups of the batch run side by side (each person once per process), so that
    // new people cost one round trip together, not one each, before Meta gets its answer.
    for (const event of events) {
      const page = config.pages.get(event.pageId)
      if ((event._tag === "message" || event._tag === "postback") && page?.userProfile)
        void state.profiles.lookup(page, event.psid)
    }
    const forHost: MessengerEvent[] = []
    try {
      for (const event of events) await apply(config, state, context, event, forHost)
    } catch (error) {
      if (error instanceof Rejected) return json(400, { error: error.message })
      context.log("error", `[dialogi/${config.channel}] webhook batch not stored; Meta will retry`, {
        error: error instanceof Error ? error.message : String(error)
      })
      return json(503, { error: `[dialogi/${config.channel}] not stored, retry later` })
    }
    for (const event of forHost) {
      try {
        if (event._tag === "handover") await state.onHandover()?.(event)
      } catch (error) {
        context.log("warn", `[dialogi/${config.channel}] handoff for a thread-control event failed`, {
          error: String(error)
        })
      }
      try {
        await config.onEvent?.(event)
      } catch (error) {
        context.log("warn", `[dialogi/${config.channel}] onEvent threw for ${event._tag}`, {
          error: String(error)
        })
      }
    }
    return new Response("EVENT_RECEIVED", { status: 200, headers: { "content-type": "text/plain" } })
  }

const ingest = async (
  context: AdapterContext,
  handled: HandledMessages,
  envelope: Parameters<AdapterContext["ingest"]>[0]
) => {
  try {
    const receipt = await context.ingest(envelope)
    handled.add(envelope.providerMessageId)
    return receipt
  } catch (error) {
    // An ingest hook refused the message and the hub recorded that (hook.ingest_vetoed): the event
    // is handled, the rest of the batch goes on and Meta gets its 200. Retrying would only record
    // the same veto again. The person still wrote to the page, so the reply window and thread
    // ownership are updated as for any message.
    if (isHookVetoed(error)) {
      handled.add(envelope.providerMessageId)
      return undefined
    }
    const tag = tagOf(error)
    if (tag === "InvalidInput" || tag === "InvalidAddress")
      throw new Rejected(
        `[dialogi/messenger] message ${envelope.providerMessageId} rejected: ${String(error)}`
      )
    throw new Retry(String(error))
  }
}

const moveStatus = async (
  state: WebhookState,
  context: AdapterContext,
  channel: string,
  mid: string,
  status: DeliveryStatus,
  at: number
) => {
  try {
    await context.updateStatus({ channel, providerMessageId: mid, status, at })
  } catch (error) {
    if (tagOf(error) !== "NotFound") throw new Retry(String(error))
    // A mid we sent whose `sent` status the hub has not committed yet: let Meta retry later.
    if (state.ledger.primaryOf(mid) !== undefined) throw new Retry(`message ${mid} not recorded as sent yet`)
    // Otherwise a message the page sent from elsewhere (Page Inbox): not ours to track.
  }
}

const apply = async (
  config: ResolvedConfig,
  state: WebhookState,
  context: AdapterContext,
  event: MessengerEvent,
  forHost: MessengerEvent[]
): Promise<void> => {
  const { channel } = config
  switch (event._tag) {
    case "message":
    case "postback": {
      const bare = toEnvelope(channel, event)
      if (!bare) return
      // A retried batch: this one got its answer already (stored or vetoed); hooks ran once.
      if (state.handled.has(bare.providerMessageId)) return
      const page = config.pages.get(event.pageId)
      const profile = page?.userProfile ? await state.profiles.lookup(page, event.psid) : undefined
      // The hub names a contact from the message that creates it; later names are ignored.
      const envelope = profile
        ? {
            ...bare,
            from: { ...bare.from, name: profile.name },
            metadata: { ...bare.metadata, ...(profile.profilePic ? { profilePic: profile.profilePic } : {}) }
          }
        : bare
      const receipt = await ingest(context, state.handled, envelope)
      if (receipt) state.conversations.note(formatAddress(event), receipt.conversationId)
      state.lastInbound.note(formatAddress(event), event.timestamp)
      // Standby: another app owns the thread; remember it so that replies are refused.
      if (event.standby && state.owners.get(formatAddress(event))?._tag !== "app")
        state.owners.set(formatAddress(event), { _tag: "app", appId: "unknown" })
      return
    }
    case "echo": {
      if (isOwnEcho(state.ledger, event)) return
      // The page wrote from elsewhere (Page Inbox, a page bot): the thread shows it as sent.
      if (!context.recordOutbound) {
        forHost.push(event)
        return
      }
      try {
        const receipt = await context.recordOutbound(toOutboundRecord(channel, event))
        state.conversations.note(formatAddress(event), receipt.conversationId)
      } catch (error) {
        if (tagOf(error) !== "NotFound") throw new Retry(String(error))
        context.log("info", `[dialogi/${channel}] echo for a person without an open conversation`, {
          mid: event.message.mid,
          appId: event.message.app_id
        })
        forHost.push(event)
      }
      return
    }
    case "delivery": {
      const address = formatAddress(event)
      const mids = new Set([
        ...event.mids.map((mid) => state.ledger.primaryOf(mid) ?? mid),
        ...state.ledger.sentUpTo(address, event.watermark)
      ])
      for (const mid of mids)
        await moveStatus(state, context, channel, mid, { _tag: "delivered" }, event.watermark)
      return
    }
    case "read": {
      const address = formatAddress(event)
      for (const mid of state.ledger.sentUpTo(address, event.watermark))
        await moveStatus(state, context, channel, mid, { _tag: "read" }, event.watermark)
      state.ledger.forgetUpTo(address, event.watermark)
      return
    }
    case "handover":
      applyHandover(state.owners, formatAddress(event), event)
      forHost.push(event)
      return
    case "referral":
    case "app_roles":
      forHost.push(event)
      return
    case "unsupported":
      context.log("debug", `[dialogi/${channel}] ignored webhook event with fields ${event.keys.join(", ")}`)
      return
  }
}
