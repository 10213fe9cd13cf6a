import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { secretTokenHeader } from "../src/index.ts"

export const botToken = "123456789:AAE-test-token-for-the-fake-bot-api"
export const secretToken = "webhook-secret-0123456789"
export const chatId = 424242

/** A sendMessage call the fake Bot API received. */
export interface SentMessage {
  readonly chat_id: string
  readonly text: string
}

/** The Bot API's error answers, as Telegram words them. */
const errors = {
  429: {
    ok: false,
    error_code: 429,
    description: "Too Many Requests: retry after 1",
    parameters: { retry_after: 1 }
  },
  403: { ok: false, error_code: 403, description: "Forbidden: bot was blocked by the user" }
} as const

/** A local stand-in for api.telegram.org: answers sendMessage like Telegram, or fails on request. */
export const startFakeBotApi = async () => {
  const sent: SentMessage[] = []
  let failNext: keyof typeof errors | undefined
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => {
      const answer = (status: number, body: unknown) =>
        res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body))
      if (req.url !== `/bot${botToken}/sendMessage`)
        return answer(401, { ok: false, error_code: 401, description: "Unauthorized" })
      if (failNext !== undefined) {
        const status = failNext
        failNext = undefined
        return answer(status, errors[status])
      }
      sent.push(JSON.parse(Buffer.concat(chunks).toString("utf8")) as SentMessage)
      answer(200, { ok: true, result: { message_id: 1000 + sent.length, date: 0, chat: { id: chatId } } })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    sent,
    failNext: (status: keyof typeof errors) => {
      failNext = status
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}
export type FakeBotApi = Awaited<ReturnType<typeof startFakeBotApi>>

const messageIds = new Map<string, number>()

/** The webhook call Telegram makes for one private-chat text message; `providerId` names it. */
export const updateRequest = (providerId: string, token: string, chat = { id: chatId, type: "private" }) => {
  const messageId = messageIds.get(providerId) ?? messageIds.size + 1
  messageIds.set(providerId, messageId)
  const body = {
    update_id: 900_000 + messageId,
    message: {
      message_id: messageId,
      from: { id: chat.id, is_bot: false, first_name: "Anna", language_code: "fi" },
      chat: { ...chat, first_name: "Anna" },
      date: 1_764_000_000,
      text: `Hello from Telegram (${providerId})`
    }
  }
  return new Request("http://localhost/telegram", {
    method: "POST",
    headers: { "content-type": "application/json", [secretTokenHeader]: token },
    body: JSON.stringify(body)
  })
}
