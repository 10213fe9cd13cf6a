import { randomBytes } from "node:crypto"
import { readFileSync } from "node:fs"
import { createServer, type IncomingMessage, type Server } from "node:http"
import type { AddressInfo } from "node:net"

// Twilio's own OpenAPI description of the 2010 REST API: every request the adapter makes is
// checked against it (parameter names, required fields, patterns), as a prism mock would.
const spec = JSON.parse(
  readFileSync(new URL("../../../../shared/contracts/twilio/twilio_api_v2010.json", import.meta.url), "utf8")
) as OpenApi

// Only the parts of the OpenAPI document the mock reads.
interface OpenApi {
  paths: Record<
    string,
    {
      post: { requestBody: { content: Record<string, { schema: unknown }> } }
      get: { parameters: Array<{ name: string }> }
    }
  >
  components: { schemas: Record<string, { properties: Record<string, unknown> }> }
}
interface CreateSchema {
  properties: Record<string, { type?: string; pattern?: string; format?: string; items?: unknown }>
  required: string[]
}
const messagesPath = spec.paths["/2010-04-01/Accounts/{AccountSid}/Messages.json"]!
const createSchema = messagesPath.post.requestBody.content["application/x-www-form-urlencoded"]!
  .schema as CreateSchema
const listParams = new Set(messagesPath.get.parameters.map((p) => p.name))
const messageFields = Object.keys(spec.components.schemas["api.v2010.account.message"]!.properties)
const callSchema = spec.paths["/2010-04-01/Accounts/{AccountSid}/Calls.json"]!.post.requestBody.content[
  "application/x-www-form-urlencoded"
]!.schema as CreateSchema
const callFields = Object.keys(spec.components.schemas["api.v2010.account.call"]!.properties)

/** One message the mock holds, in Twilio's JSON shape. */
export type MockMessage = Record<string, unknown> & { sid: string; to: string; body: string }

/** A scripted answer for the next POST /Messages.json. */
export type MockFault =
  | { readonly kind: "error"; readonly status: number; readonly code: number; readonly message: string }
  /** Creates the message, then answers only after `ms` (longer than the client's timeout). */
  | { readonly kind: "slow"; readonly ms: number }

/** A local server speaking the Messages part of Twilio's REST API, validating requests. */
export interface TwilioApiMock {
  readonly url: string
  readonly messages: MockMessage[]
  /** Every request, with the OpenAPI violations found in it (empty = valid). */
  readonly requests: Array<{
    method: string
    path: string
    params: Record<string, string[]>
    violations: string[]
  }>
  readonly faults: MockFault[]
  /**
   * Media Twilio serves for inbound MMS, by MediaSid: GET .../Media/<sid> (Basic auth, like
   * every request here) redirects to a signed URL on a separate storage server, which refuses
   * requests carrying an Authorization header, as S3 does. `status` makes the storage fail.
   * Recordings (GET .../Recordings/<sid>.mp3) are served from here too, directly.
   */
  readonly media: Map<string, { contentType: string; body: Buffer; status?: number }>
  /** Requests the storage server saw: whether they carried Authorization. */
  readonly storageRequests: Array<{ path: string; authorization: boolean }>
  /** Calls created through POST /Calls.json, with the form they were created from. */
  readonly calls: Array<{ sid: string; params: Record<string, string[]>; at: number; status: string }>
  readonly close: () => Promise<void>
}

const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    req.on("error", reject)
  })

const multi = (search: URLSearchParams) => {
  const out: Record<string, string[]> = {}
  for (const [k, v] of search) {
    const seen = out[k] ?? []
    seen.push(v)
    out[k] = seen
  }
  return out
}

/** The violations of a form against one create operation's schema in the spec. */
const schemaViolations = (schema: CreateSchema, params: Record<string, string[]>): string[] => {
  const violations: string[] = []
  for (const name of schema.required) if (!params[name]) violations.push(`missing required ${name}`)
  for (const [name, values] of Object.entries(params)) {
    const prop = schema.properties[name]
    if (!prop) {
      violations.push(`unknown parameter ${name}`)
      continue
    }
    if (prop.type !== "array" && values.length > 1) violations.push(`${name} repeated`)
    for (const value of values) {
      if (prop.pattern && !new RegExp(prop.pattern).test(value))
        violations.push(`${name} does not match ${prop.pattern}`)
      if (prop.format === "uri" && !URL.canParse(value)) violations.push(`${name} is not a URI`)
      if (prop.format === "phone-number" && !/^\+[1-9]\d{6,14}$/.test(value))
        violations.push(`${name} is not E.164`)
      if (prop.format === "http-method" && value !== "GET" && value !== "POST")
        violations.push(`${name} is not GET or POST`)
      if (prop.type === "integer" && !/^-?\d+$/.test(value)) violations.push(`${name} is not an integer`)
      if (prop.type === "boolean" && value !== "true" && value !== "false")
        violations.push(`${name} is not a boolean`)
    }
  }
  return violations
}

/** The OpenAPI violations of a create-call form, plus Twilio's rules the spec cannot express. */
export const createCallViolations = (params: Record<string, string[]>): string[] => {
  const violations = schemaViolations(callSchema, params)
  // `endpoint`: a phone number, a client:/sip: address; callbacks only ever dial numbers.
  for (const name of ["To", "From"])
    for (const value of params[name] ?? [])
      if (!/^\+[1-9]\d{6,14}$/.test(value)) violations.push(`${name} is not E.164`)
  if (!params.Url && !params.Twiml && !params.ApplicationSid)
    violations.push("no Url, Twiml or ApplicationSid")
  const timeout = Number(params.Timeout?.[0] ?? "60")
  if (timeout < 1 || timeout > 600) violations.push("Timeout outside 1-600")
  return violations
}

/** The OpenAPI violations of a create-message form. */
export const createMessageViolations = (params: Record<string, string[]>): string[] => {
  const violations = schemaViolations(createSchema, params)
  // Twilio's rule the spec cannot express: a sender is needed.
  if (!params.From && !params.MessagingServiceSid) violations.push("neither From nor MessagingServiceSid")
  if (!params.Body && !params.MediaUrl && !params.ContentSid)
    violations.push("no Body, MediaUrl or ContentSid")
  return violations
}

/** Starts the mock on a free loopback port. */
export const startTwilioApiMock = async (accountSid: string, authToken: string): Promise<TwilioApiMock> => {
  const messages: MockMessage[] = []
  const requests: TwilioApiMock["requests"] = []
  const faults: MockFault[] = []
  const calls: TwilioApiMock["calls"] = []
  const media: TwilioApiMock["media"] = new Map()
  const storageRequests: TwilioApiMock["storageRequests"] = []
  const storage: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1")
    storageRequests.push({ path: url.pathname, authorization: req.headers.authorization !== undefined })
    if (req.headers.authorization !== undefined)
      return res.writeHead(400).end("Only one auth mechanism allowed")
    if (!url.searchParams.get("X-Amz-Signature")) return res.writeHead(403).end("AccessDenied")
    const item = media.get(url.pathname.replace(/^\/media\//, ""))
    if (!item) return res.writeHead(404).end("NoSuchKey")
    if (item.status !== undefined) return res.writeHead(item.status).end("storage failure")
    res
      .writeHead(200, { "content-type": item.contentType, "content-length": String(item.body.length) })
      .end(item.body)
  })
  await new Promise<void>((resolve) => storage.listen(0, "127.0.0.1", resolve))
  const storageUrl = `http://127.0.0.1:${(storage.address() as AddressInfo).port}`
  const expectedAuth = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString("base64")}`
  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1")
    const body = await readBody(req)
    const json = (status: number, payload: unknown) =>
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(payload))
    if (req.headers.authorization !== expectedAuth)
      return json(401, { code: 20003, message: "Authenticate", status: 401 })
    const mediaPath = new RegExp(`^/2010-04-01/Accounts/${accountSid}/Messages/\\w+/Media/(\\w+)$`).exec(
      url.pathname
    )
    const recordingPath = new RegExp(`^/2010-04-01/Accounts/${accountSid}/Recordings/(RE\\w+)\\.mp3$`).exec(
      url.pathname
    )
    if (recordingPath && req.method === "GET") {
      const item = media.get(recordingPath[1]!)
      if (!item) return json(404, { code: 20404, message: "not found", status: 404 })
      res
        .writeHead(200, { "content-type": item.contentType, "content-length": String(item.body.length) })
        .end(item.body)
      return
    }
    if (mediaPath && req.method === "GET") {
      res.writeHead(302, { location: `${storageUrl}/media/${mediaPath[1]}?X-Amz-Signature=0123abcd` }).end()
      return
    }
    if (url.pathname === `/2010-04-01/Accounts/${accountSid}/Calls.json` && req.method === "POST") {
      const params = multi(new URLSearchParams(body))
      const violations = createCallViolations(params)
      requests.push({ method: "POST", path: url.pathname, params, violations })
      if (violations.length > 0)
        return json(400, { code: 21201, message: violations.join("; "), status: 400 })
      const now = new Date().toUTCString()
      const call = Object.fromEntries(callFields.map((f) => [f, null])) as Record<string, unknown>
      const sid = `CA${randomBytes(16).toString("hex")}`
      Object.assign(call, {
        sid,
        account_sid: accountSid,
        to: params.To![0],
        from: params.From![0],
        status: "queued",
        direction: "outbound-api",
        date_created: now,
        date_updated: now,
        api_version: "2010-04-01",
        uri: `/2010-04-01/Accounts/${accountSid}/Calls/${sid}.json`
      })
      calls.push({ sid, params, at: Date.now(), status: "queued" })
      return json(201, call)
    }
    const callPath = new RegExp(`^/2010-04-01/Accounts/${accountSid}/Calls/(CA[0-9a-f]{32})\\.json$`).exec(
      url.pathname
    )
    if (callPath && req.method === "GET") {
      const violations = [...url.searchParams.keys()].map((k) => `unknown query parameter ${k}`)
      requests.push({ method: "GET", path: url.pathname, params: multi(url.searchParams), violations })
      const call = calls.find((c) => c.sid === callPath[1])
      if (!call) return json(404, { code: 20404, message: "not found", status: 404 })
      return json(200, {
        ...Object.fromEntries(callFields.map((f) => [f, null])),
        sid: call.sid,
        account_sid: accountSid,
        to: call.params.To![0],
        from: call.params.From![0],
        status: call.status,
        direction: "outbound-api",
        api_version: "2010-04-01",
        uri: url.pathname
      })
    }
    if (url.pathname !== `/2010-04-01/Accounts/${accountSid}/Messages.json`)
      return json(404, { code: 20404, message: "not found", status: 404 })
    if (req.method === "POST") {
      const params = multi(new URLSearchParams(body))
      const violations = createMessageViolations(params)
      requests.push({ method: "POST", path: url.pathname, params, violations })
      if (violations.length > 0)
        return json(400, { code: 21601, message: violations.join("; "), status: 400 })
      const fault = faults.shift()
      if (fault?.kind === "error")
        return json(fault.status, { code: fault.code, message: fault.message, status: fault.status })
      const now = new Date().toUTCString()
      const message: MockMessage = Object.fromEntries(messageFields.map((f) => [f, null])) as MockMessage
      Object.assign(message, {
        sid: `SM${randomBytes(16).toString("hex")}`,
        account_sid: accountSid,
        to: params.To![0]!,
        from: params.From?.[0] ?? "+15005550006",
        messaging_service_sid: params.MessagingServiceSid?.[0] ?? null,
        body: params.Body?.[0] ?? "",
        status: "queued",
        direction: "outbound-api",
        num_segments: "1",
        num_media: String(params.MediaUrl?.length ?? 0),
        date_created: now,
        date_updated: now,
        api_version: "2010-04-01",
        uri: `/2010-04-01/Accounts/${accountSid}/Messages/x.json`
      })
      messages.push(message)
      if (fault?.kind === "slow") await new Promise((r) => setTimeout(r, fault.ms))
      if (!res.destroyed) json(201, message)
      return
    }
    if (req.method === "GET") {
      const params = multi(url.searchParams)
      const violations = Object.keys(params)
        .filter((k) => !listParams.has(k))
        .map((k) => `unknown query parameter ${k}`)
      requests.push({ method: "GET", path: url.pathname, params, violations })
      if (violations.length > 0)
        return json(400, { code: 20001, message: violations.join("; "), status: 400 })
      const to = params.To?.[0]
      const found = messages.filter((m) => to === undefined || m.to === to).reverse()
      return json(200, {
        messages: found,
        end: found.length - 1,
        first_page_uri: url.pathname,
        next_page_uri: null,
        page: 0,
        page_size: found.length,
        previous_page_uri: null,
        start: 0,
        uri: url.pathname
      })
    }
    return json(405, { code: 20004, message: "method not allowed", status: 405 })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    messages,
    requests,
    faults,
    calls,
    media,
    storageRequests,
    close: async () => {
      for (const s of [server, storage])
        await new Promise<void>((resolve) => {
          s.closeAllConnections()
          s.close(() => resolve())
        })
    }
  }
}
