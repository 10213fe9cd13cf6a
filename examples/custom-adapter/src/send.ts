import { SendFailed, type SendReceipt, type SendRequest } from "@dialogi/core"
import { Either, Schema } from "effect"
import { channel } from "./capabilities.ts"
import type { ResolvedConfig } from "./config.ts"

// Every Bot API answer is `{ ok: true, result }` or `{ ok: false, error_code, description }`.
const ApiAnswer = Schema.Union(
  Schema.Struct({ ok: Schema.Literal(true), result: Schema.Struct({ message_id: Schema.Number }) }),
  Schema.Struct({
    ok: Schema.Literal(false),
    error_code: Schema.Number,
    description: Schema.String,
    parameters: Schema.optional(Schema.Struct({ retry_after: Schema.optional(Schema.Number) }))
  })
)
const decodeAnswer = Schema.decodeUnknownEither(Schema.parseJson(ApiAnswer))

const failed = (reason: string, retryable: boolean, code?: string, retryAfterMs?: number) =>
  new SendFailed({ channel, reason, retryable, code, retryAfterMs })

/**
 * Sends a reply with `sendMessage`. 429 (with its `retry_after`) and 5xx are retryable; 400
 * (chat not found) and 403 (the user blocked the bot) are not. The Bot API has no idempotency
 * key, so a retry after a timeout can show the customer a message twice.
 */
export const makeSend =
  (config: ResolvedConfig) =>
  async (request: SendRequest): Promise<SendReceipt> => {
    const text = request.parts.flatMap((part) => (part._tag === "text" ? [part.text] : [])).join("\n\n")
    if (text === "") throw failed("only text goes out on Telegram", false)
    let response: Response
    try {
      response = await fetch(`${config.apiBaseUrl}/bot${config.botToken}/sendMessage`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ chat_id: request.to, text }),
        signal: AbortSignal.timeout(15_000)
      })
    } catch (error) {
      // The URL holds the bot token: report the cause, never the URL.
      throw failed(`Bot API unreachable: ${(error as Error).name}`, true)
    }
    const answer = decodeAnswer(await response.text())
    if (Either.isLeft(answer))
      throw failed(`unreadable answer, HTTP ${response.status}`, response.status >= 500)
    if (answer.right.ok) return { providerMessageId: `${request.to}:${answer.right.result.message_id}` }
    const { error_code, description, parameters } = answer.right
    const retryAfterMs = parameters?.retry_after === undefined ? undefined : parameters.retry_after * 1000
    throw failed(description, error_code === 429 || error_code >= 500, String(error_code), retryAfterMs)
  }
