import type { IncomingMessage, ServerResponse } from "node:http"
import type { WebhookHandler } from "./ChannelAdapter.js"

/** Options of {@link toNodeListener}. */
export interface NodeListenerOptions {
  /**
   * The public base URL providers call (e.g. "https://support.example.com"). Signatures such
   * as Twilio's cover the public URL, which differs from the internal one behind a proxy, so
   * it is configured, never taken from the Host header.
   */
  readonly publicBaseUrl?: string | undefined
  /** Largest accepted body; larger requests get 413 without being read further. */
  readonly maxBodyBytes?: number | undefined
}

/**
 * Mounts a fetch-style webhook handler on node:http (and frameworks built on it, such as
 * Express): `http.createServer(toNodeListener(hub.webhook("sms")))`.
 */
export const toNodeListener =
  (handler: WebhookHandler, options: NodeListenerOptions = {}) =>
  (req: IncomingMessage, res: ServerResponse): void => {
    const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024
    const chunks: Buffer[] = []
    let size = 0
    let aborted = false
    req.on("data", (chunk: Buffer) => {
      size += chunk.length
      if (size > maxBodyBytes && !aborted) {
        aborted = true
        res.writeHead(413, { "content-type": "text/plain" }).end("payload too large")
        req.destroy()
        return
      }
      chunks.push(chunk)
    })
    req.on("end", () => {
      if (aborted) return
      const base = options.publicBaseUrl ?? `http://${req.headers.host ?? "localhost"}`
      const headers = new Headers()
      for (const [name, value] of Object.entries(req.headers))
        if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(", ") : value)
      const method = req.method ?? "GET"
      const request = new Request(new URL(req.url ?? "/", base), {
        method,
        headers,
        ...(method === "GET" || method === "HEAD" ? {} : { body: Buffer.concat(chunks) })
      })
      handler(request)
        .then(async (response) => {
          const body = Buffer.from(await response.arrayBuffer())
          res.writeHead(response.status, Object.fromEntries(response.headers.entries())).end(body)
        })
        .catch(() => {
          // A handler that throws has not committed anything the provider can rely on: 500
          // makes the provider retry.
          if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" })
          res.end("internal error")
        })
    })
  }
