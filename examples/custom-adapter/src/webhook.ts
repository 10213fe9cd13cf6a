import { timingSafeEqual } from "node:crypto"
import type { AdapterContext, WebhookHandler } from "@dialogi/core"
import { Either } from "effect"
import { channel } from "./capabilities.ts"
import type { ResolvedConfig } from "./config.ts"
import { decodeUpdate, toEnvelope } from "./update.ts"

/** The header in which Telegram repeats the webhook's secret token. */
export const secretTokenHeader = "x-telegram-bot-api-secret-token"

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } })

const sameToken = (expected: string, given: string | null): boolean => {
  const [a, b] = [Buffer.from(expected), Buffer.from(given ?? "")]
  return a.length === b.length && timingSafeEqual(a, b)
}

/**
 * Verifies, decodes and ingests one update. Telegram retries any non-2xx answer, so 200 goes
 * out only after the hub committed the message, and a retry of a stored update is a no-op.
 */
export const makeWebhookHandler =
  (config: ResolvedConfig, context: () => AdapterContext | undefined): WebhookHandler =>
  async (request) => {
    if (request.method !== "POST") return json(405, { error: "method not allowed" })
    if (!sameToken(config.secretToken, request.headers.get(secretTokenHeader)))
      return json(403, { error: `[dialogi/${channel}] missing or wrong secret token` })
    const hub = context()
    if (!hub) return json(503, { error: `[dialogi/${channel}] hub not started` })
    const update = decodeUpdate(await request.text())
    if (Either.isLeft(update)) return json(400, { error: `[dialogi/${channel}] not a Bot API update` })
    const envelope = toEnvelope(update.right)
    if (!envelope) return json(200, { ignored: true })
    try {
      await hub.ingest(envelope)
      return json(200, { ok: true })
    } catch (error) {
      const tag = (error as { _tag?: unknown } | null)?._tag
      hub.log("error", `[dialogi/${channel}] ingest failed`, { error: String(error) })
      // Bad input stays bad on every retry; anything else (the store) may work next time.
      return json(tag === "InvalidInput" || tag === "InvalidAddress" ? 400 : 503, { error: "not stored" })
    }
  }
