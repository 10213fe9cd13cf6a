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
}

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
  const lastCustomerMessage = new Map<string, number>()
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
    const message = body.message as { text?: unknown; attachment?: unknown } | undefined
    if (!message || (message.text === undefined && message.attachment === undefined))
      return [400, oauth("(#100) The parameter message is required", 100)]
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

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const url = new URL(req.url ?? "/", "http://localhost")
    const text = Buffer.concat(chunks).toString("utf8")
    const body = text.length > 0 ? (JSON.parse(text) as Record<string, unknown>) : undefined
    const token = url.searchParams.get("access_token")
    const query = Object.fromEntries([...url.searchParams].filter(([k]) => k !== "access_token"))
    requests.push({ method: req.method ?? "", path: url.pathname, token, query, body })
    const failure = failures.shift()
    if (failure) return answer(res, failure.status, { error: failure.error })
    const page = pages.find((p) => p.token === token)
    if (!page)
      return answer(res, 400, {
        error: oauth("Invalid OAuth access token - Cannot parse access token", 190).error
      })
    const prefix = `/${version}/me/`
    if (!url.pathname.startsWith(prefix))
      return answer(res, 404, { error: oauth("Unknown path components", 2500).error })
    const action = url.pathname.slice(prefix.length)
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
    /** Tells the mock when the customer last wrote, for its window checks. */
    customerWrote: (psid: string, at: number) => lastCustomerMessage.set(psid, at),
    close: async () => {
      server.closeAllConnections()
      server.close()
      await once(server, "close")
    }
  }
}

/** The mock server's handle. */
export type GraphServer = Awaited<ReturnType<typeof startGraphServer>>
