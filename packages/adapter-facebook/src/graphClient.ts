import { Redacted } from "effect"
import { request } from "undici"
import type { ResolvedConfig } from "./config.js"
import type { GraphError } from "./errorCodes.js"

/** The answer of one Graph API call: Meta's JSON body, or its error object. */
export type GraphResponse =
  | { readonly ok: true; readonly status: number; readonly body: Record<string, unknown> }
  | { readonly ok: false; readonly status: number; readonly error: GraphError | undefined }

/** A network failure before Meta answered (refused, reset, timeout): always worth a retry. */
export class GraphUnreachable extends Error {
  readonly _tag = "GraphUnreachable"
}

/**
 * Calls `{base}/{version}/{path}` with the page token. The token travels as the documented
 * `access_token` query parameter; the URL is never logged, so the token stays out of logs.
 */
export const callGraph = async (
  config: ResolvedConfig,
  token: Redacted.Redacted<string>,
  method: "GET" | "POST",
  path: string,
  payload?: unknown,
  query: Readonly<Record<string, string>> = {}
): Promise<GraphResponse> => {
  // A FormData body goes as multipart, serialized by the platform's Response (which writes the
  // boundary): undici's request() stalls on FormData bodies. Anything else goes as JSON.
  const encoded =
    payload === undefined
      ? undefined
      : payload instanceof FormData
        ? await (async () => {
            const serialized = new Response(payload)
            return {
              body: new Uint8Array(await serialized.arrayBuffer()),
              contentType: serialized.headers.get("content-type") ?? "multipart/form-data"
            }
          })()
        : { body: JSON.stringify(payload), contentType: "application/json" }
  const url = new URL(`${config.graphBaseUrl}/${config.graphVersion}/${path}`)
  for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value)
  url.searchParams.set("access_token", Redacted.value(token))
  let status: number
  let text: string
  try {
    const response = await request(url, {
      method,
      headers: encoded === undefined ? {} : { "content-type": encoded.contentType },
      ...(encoded === undefined ? {} : { body: encoded.body }),
      ...(config.dispatcher ? { dispatcher: config.dispatcher } : {}),
      headersTimeout: config.requestTimeoutMs,
      bodyTimeout: config.requestTimeoutMs
    })
    status = response.statusCode
    text = await response.body.text()
  } catch (error) {
    throw new GraphUnreachable(
      `[dialogi/${config.channel}] Graph API unreachable: ${error instanceof Error ? error.message : String(error)}`
    )
  }
  let body: unknown
  try {
    body = text.length > 0 ? JSON.parse(text) : {}
  } catch {
    body = undefined
  }
  const object = typeof body === "object" && body !== null ? (body as Record<string, unknown>) : undefined
  if (status >= 200 && status < 300 && object && object.error === undefined)
    return { ok: true, status, body: object }
  const error = object?.error
  return {
    ok: false,
    status,
    error: typeof error === "object" && error !== null ? (error as GraphError) : undefined
  }
}
