import { once } from "node:events"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"

/** One request the mock Graph API received. */
export interface GraphRequest {
  readonly method: string
  readonly path: string
  readonly token: string | null
  readonly query: Readonly<Record<string, string>>
  readonly body: Record<string, unknown> | undefined
}

/** A page as the mock knows it: its token and whether it holds the Human Agent permission. */
export interface MockPage {
  readonly token: string
  readonly humanAgent: boolean
  /** The app has Business Asset User Profile Access for this page. */
  readonly userProfile?: boolean
}

/** A person as the User Profile API knows them. */
export interface MockProfile {
  readonly first_name: string
  readonly last_name: string
  readonly profile_pic: string
}

const profileFieldNames = new Set([
  "id",
  "name",
  "first_name",
  "last_name",
  "profile_pic",
  "locale",
  "timezone",
  "gender"
])

/** A scripted failure: Meta's error object and the HTTP status it comes with. */
export interface MockFailure {
  readonly status: number
  readonly error: { message: string; type: string; code: number; error_subcode?: number; fbtrace_id: string }
}

/** Meta's documented error bodies for the codes the tests use. */
export const metaErrors = {
  rateLimit: {
    status: 400,
    error: {
      message: "(#613) Calls to this api have exceeded the rate limit.",
      type: "OAuthException",
      code: 613,
      fbtrace_id: "A1"
    }
  },
  unavailable: {
    status: 400,
    error: {
      message: "(#551) This person isn't available right now.",
      type: "OAuthException",
      code: 551,
      error_subcode: 1545041,
      fbtrace_id: "A2"
    }
  },
  temporary: {
    status: 500,
    error: {
      message: "(#1200) Temporary send message failure. Please try again later",
      type: "OAuthException",
      code: 1200,
      fbtrace_id: "A3"
    }
  }
} satisfies Record<string, MockFailure>

const oauth = (message: string, code: number, subcode?: number): MockFailure => ({
  status: 400,
  error: {
    message,
    type: "OAuthException",
    code,
    ...(subcode ? { error_subcode: subcode } : {}),
    fbtrace_id: "AZ"
  }
})

/**
 * A local Graph API that checks what Meta checks on /me/messages and the thread-control
 * endpoints: the page token, required fields, messaging_type/tag rules and the 24 h / 7 day
 * windows (from the customer's last message, which tests set), answering with Meta's success
 * and error bodies.
 */
export const startGraphServer = async (version: string, pages: ReadonlyArray<MockPage>) => {
  const requests: GraphRequest[] = []
  const failures: MockFailure[] = []
  /** Failures waiting for a request to one endpoint (`messages`, `message_attachments`, ...). */
  const endpointFailures = new Map<string, MockFailure[]>()
  const lastCustomerMessage = new Map<string, number>()
  const profiles = new Map<string, MockProfile>()
  /** Uploaded attachments by id: their type, what the file said it was, and its bytes. */
  const uploads = new Map<
    string,
    { type: string; contentType: string; filename: string; bytes: Uint8Array }
  >()
  let counter = 0

  const answer = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body))
  }

  const messages = (page: MockPage, body: Record<string, unknown>): [number, unknown] => {
    const recipient = (body.recipient as { id?: unknown } | undefined)?.id
    if (typeof recipient !== "string") return [400, oauth("(#100) The parameter recipient is required", 100)]
    if (body.sender_action !== undefined) {
      if (body.message !== undefined)
        return [400, oauth("(#100) sender_action cannot be sent with message", 100)]
      if (!["typing_on", "typing_off", "mark_seen"].includes(String(body.sender_action)))
        return [400, oauth("(#100) Invalid sender_action", 100)]
      return [200, { recipient_id: recipient }]
    }
    const message = body.message as
      | { text?: unknown; attachment?: { type?: unknown; payload?: Record<string, unknown> } }
      | undefined
    if (!message || (message.text === undefined && message.attachment === undefined))
      return [400, oauth("(#100) The parameter message is required", 100)]
    const attachmentId = message.attachment?.payload?.attachment_id
    if (attachmentId !== undefined) {
      const uploaded = uploads.get(String(attachmentId))
      if (!uploaded) return [400, oauth("(#100) Invalid attachment_id", 100)]
      if (uploaded.type !== message.attachment?.type)
        return [400, oauth("(#100) Attachment type does not match the uploaded attachment", 100)]
    }
    if (typeof message.text === "string" && message.text.length > 2000)
      return [400, oauth("(#100) Length of param message[text] must be less than or equal to 2000", 100)]
    const type = body.messaging_type
    if (!["RESPONSE", "UPDATE", "MESSAGE_TAG"].includes(String(type)))
      return [400, oauth("(#100) param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG}", 100)]
    if (type === "MESSAGE_TAG" && typeof body.tag !== "string")
      return [400, oauth("(#100) Tag is required for MESSAGE_TAG messaging type", 100)]
    if (type !== "MESSAGE_TAG" && body.tag !== undefined)
      return [400, oauth("(#100) tag is only allowed with messaging_type MESSAGE_TAG", 100)]
    const last = lastCustomerMessage.get(recipient)
    const age = last === undefined ? 0 : Date.now() - last
    if (body.tag === "HUMAN_AGENT" && !page.humanAgent)
      return [400, oauth("(#10) This app does not have the Human Agent permission", 10)]
    const limit = body.tag === "HUMAN_AGENT" ? 7 * 86_400_000 : 86_400_000
    if (age > limit) return [400, oauth("(#10) This message is sent outside of allowed window.", 10, 2018278)]
    counter += 1
    return [200, { recipient_id: recipient, message_id: `m_mock_${counter}` }]
  }

  /**
   * The Attachment Upload API as Meta checks it: a `message` field naming the attachment type,
   * and a `filedata` file whose MIME type fits that type, at most 25 MB; answers `attachment_id`.
   */
  const upload = (form: FormData): [number, unknown] => {
    const raw = form.get("message")
    if (typeof raw !== "string") return [400, oauth("(#100) The parameter message is required", 100)]
    const message = JSON.parse(raw) as { attachment?: { type?: unknown; payload?: { url?: unknown } } }
    const type = message.attachment?.type
    if (!["image", "video", "audio", "file"].includes(String(type)))
      return [
        400,
        oauth("(#100) param message[attachment][type] must be one of {image, audio, video, file}", 100)
      ]
    const file = form.get("filedata")
    if (message.attachment?.payload?.url !== undefined)
      return file === null
        ? [200, { attachment_id: `att_url_${++counter}` }]
        : [400, oauth("(#100) url and filedata are exclusive", 100)]
    if (!(file instanceof File)) return [400, oauth("(#100) The parameter filedata is required", 100)]
    if (file.type === "" || (type !== "file" && !file.type.startsWith(`${String(type)}/`)))
      return [
        400,
        oauth("(#100) Upload attachment failure: the file does not match the attachment type", 100)
      ]
    if (file.size > 25 * 1024 * 1024)
      return [400, oauth("(#100) Attachment size exceeds allowable limit", 100)]
    const id = `${9_000_000 + ++counter}`
    return [200, { attachment_id: id }]
  }

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const url = new URL(req.url ?? "/", "http://localhost")
    const raw = Buffer.concat(chunks)
    const contentType = req.headers["content-type"] ?? ""
    let form: FormData | undefined
    let body: Record<string, unknown> | undefined
    if (contentType.startsWith("multipart/form-data")) {
      form = await new Response(raw, { headers: { "content-type": contentType } }).formData()
      const file = form.get("filedata")
      const fileBytes = file instanceof File ? new Uint8Array(await file.arrayBuffer()) : undefined
      body = {
        message: JSON.parse(String(form.get("message") ?? "null")),
        ...(file instanceof File && fileBytes
          ? { filedata: { filename: file.name, type: file.type, size: file.size, bytes: fileBytes } }
          : {})
      }
    } else {
      const text = raw.toString("utf8")
      body = text.length > 0 ? (JSON.parse(text) as Record<string, unknown>) : undefined
    }
    const token = url.searchParams.get("access_token")
    const query = Object.fromEntries([...url.searchParams].filter(([k]) => k !== "access_token"))
    requests.push({ method: req.method ?? "", path: url.pathname, token, query, body })
    const failure = endpointFailures.get(url.pathname.split("/").pop() ?? "")?.shift() ?? failures.shift()
    if (failure) return answer(res, failure.status, { error: failure.error })
    const page = pages.find((p) => p.token === token)
    if (!page)
      return answer(res, 400, {
        error: oauth("Invalid OAuth access token - Cannot parse access token", 190).error
      })
    const person = new RegExp(`^/${version.replace(".", "\\.")}/(\\d+)$`).exec(url.pathname)
    if (req.method === "GET" && person) {
      const fields = (url.searchParams.get("fields") ?? "").split(",").filter((f) => f !== "")
      const unknown = fields.find((f) => !profileFieldNames.has(f))
      if (fields.length === 0 || unknown !== undefined)
        return answer(res, 400, {
          error: oauth(`(#100) Tried accessing nonexisting field (${unknown ?? "fields"})`, 100).error
        })
      if (!page.userProfile)
        return answer(res, 403, {
          error: oauth("(#230) Requires Business Asset User Profile Access", 230).error
        })
      const profile = profiles.get(person[1]!)
      if (!profile)
        return answer(res, 400, { error: oauth("No profile available for this user.", 2018218).error })
      const known: Record<string, unknown> = { id: person[1], ...profile }
      return answer(res, 200, Object.fromEntries(fields.filter((f) => f in known).map((f) => [f, known[f]])))
    }
    const prefix = `/${version}/me/`
    if (!url.pathname.startsWith(prefix))
      return answer(res, 404, { error: oauth("Unknown path components", 2500).error })
    const action = url.pathname.slice(prefix.length)
    if (action === "message_attachments" && req.method === "POST") {
      if (!form)
        return answer(res, 400, { error: oauth("(#100) The parameter message is required", 100).error })
      const [status, result] = upload(form)
      if (status === 200) {
        const file = body?.filedata as { filename: string; type: string; bytes: Uint8Array } | undefined
        const type = String(
          (body?.message as { attachment?: { type?: string } } | undefined)?.attachment?.type
        )
        const id = String((result as { attachment_id: string }).attachment_id)
        uploads.set(id, {
          type,
          contentType: file?.type ?? "",
          filename: file?.filename ?? "",
          bytes: file?.bytes ?? new Uint8Array()
        })
      }
      return answer(res, status, status === 200 ? result : { error: (result as MockFailure).error })
    }
    if (action === "messages" && req.method === "POST" && body) {
      const [status, result] = messages(page, body)
      return answer(res, status, status === 200 ? result : { error: (result as MockFailure).error })
    }
    if (
      req.method === "POST" &&
      [
        "pass_thread_control",
        "take_thread_control",
        "request_thread_control",
        "release_thread_control"
      ].includes(action)
    ) {
      if (typeof (body?.recipient as { id?: unknown } | undefined)?.id !== "string")
        return answer(res, 400, { error: oauth("(#100) The parameter recipient is required", 100).error })
      if (action === "pass_thread_control" && typeof body?.target_app_id !== "string")
        return answer(res, 400, { error: oauth("(#100) The parameter target_app_id is required", 100).error })
      return answer(res, 200, { success: true })
    }
    if (req.method === "GET" && action === "thread_owner")
      return answer(res, 200, { data: [{ thread_owner: { app_id: "263902037430900" } }] })
    return answer(res, 404, { error: oauth("Unsupported request", 100).error })
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error) => answer(res, 500, { error: { message: String(error) } }))
  })
  server.listen(0, "127.0.0.1")
  await once(server, "listening")
  const { port } = server.address() as AddressInfo
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    /** Makes the next request fail with `failure`. */
    failNext: (failure: MockFailure) => failures.push(failure),
    /** Makes the next request to `endpoint` (the last path segment) fail with `failure`. */
    failNextOn: (endpoint: string, failure: MockFailure) =>
      endpointFailures.set(endpoint, [...(endpointFailures.get(endpoint) ?? []), failure]),
    /** Tells the mock when the customer last wrote, for its window checks. */
    customerWrote: (psid: string, at: number) => lastCustomerMessage.set(psid, at),
    /** Makes the User Profile API know a person. */
    profile: (psid: string, profile: MockProfile) => profiles.set(psid, profile),
    /** What was uploaded under an attachment id. */
    uploaded: (attachmentId: string) => uploads.get(attachmentId),
    close: async () => {
      server.closeAllConnections()
      server.close()
      await once(server, "close")
    }
  }
}

/** The mock server's handle. */
export type GraphServer = Awaited<ReturnType<typeof startGraphServer>>
