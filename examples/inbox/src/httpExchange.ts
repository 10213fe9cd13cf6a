import type { IncomingMessage, ServerResponse } from "node:http"
import { Either, Schema } from "effect"

/** Headers every response of the app carries. */
export const baseHeaders = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin"
} as const

/** A request body that is too large, not JSON, or not what the route's Schema expects. */
export class BadRequest extends Schema.TaggedError<BadRequest>("@dialogi/example-inbox/BadRequest")(
  "BadRequest",
  {
    status: Schema.Number,
    message: Schema.String
  }
) {}

export const sendJson = (res: ServerResponse, status: number, body: unknown): void => {
  res
    .writeHead(status, {
      ...baseHeaders,
      "content-type": "application/json; charset=utf-8",
      "cache-control": "no-store"
    })
    .end(JSON.stringify(body))
}

export const sendHtml = (
  res: ServerResponse,
  status: number,
  html: string,
  csp: string,
  extra: Record<string, string> = {}
): void => {
  res
    .writeHead(status, {
      ...baseHeaders,
      "content-type": "text/html; charset=utf-8",
      "content-security-policy": csp,
      "x-frame-options": "DENY",
      "cache-control": "no-store",
      ...extra
    })
    .end(html)
}

/** Reads the whole body, refusing more than `limit` bytes without buffering them. */
export const readBody = (req: IncomingMessage, limit: number): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on("data", (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        reject(new BadRequest({ status: 413, message: `body larger than ${limit} bytes` }))
        req.destroy()
        return
      }
      chunks.push(chunk)
    })
    req.on("end", () => resolve(Buffer.concat(chunks)))
    req.on("error", reject)
  })

/**
 * Reads a JSON body and decodes it with `schema`. Only `application/json` is accepted: a
 * cross-site form cannot send that content type without a CORS preflight, which this server
 * never answers, so it is a second guard next to the SameSite cookie.
 */
export const readJson = async <A, I>(
  req: IncomingMessage,
  schema: Schema.Schema<A, I>,
  limit = 64 * 1024
): Promise<A> => {
  if (!(req.headers["content-type"] ?? "").toLowerCase().startsWith("application/json"))
    throw new BadRequest({ status: 415, message: "send application/json" })
  const text = (await readBody(req, limit)).toString("utf8")
  const decoded = Schema.decodeUnknownEither(Schema.parseJson(schema))(text)
  if (Either.isLeft(decoded)) throw new BadRequest({ status: 400, message: decoded.left.message })
  return decoded.right
}

/** Reads an `application/x-www-form-urlencoded` body (the sign-in form). */
export const readForm = async (req: IncomingMessage, limit = 4 * 1024): Promise<URLSearchParams> =>
  new URLSearchParams((await readBody(req, limit)).toString("utf8"))

/** A 303 to `location` (after a form post, or to the sign-in page). */
export const redirect = (res: ServerResponse, location: string, extra: Record<string, string> = {}): void => {
  res.writeHead(303, { ...baseHeaders, location, ...extra }).end()
}
