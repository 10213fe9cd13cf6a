import { createHmac, timingSafeEqual } from "node:crypto"
import { Either, Schema } from "effect"
import { IngestRefused, ingestVisitorMessage } from "./inbound.js"
import { ClientMessageId } from "./protocol.js"
import type { ChatRuntime } from "./runtime.js"

/** Header carrying the signature of a server-to-server chat post. */
export const chatSignatureHeader = "x-dialogi-chat-signature"

// The webhook key is derived from the secret: identity signatures over user ids are visible
// in the page, and a user id that happens to be a JSON body must not double as a post signature.
const webhookKey = (secret: string) => createHmac("sha256", secret).update("dialogi/chat webhook").digest()

/**
 * Signs a server-to-server chat post (`sha256=<hex>`), for hosts that relay a visitor's message
 * from their own backend, e.g. a no-JavaScript fallback form.
 */
export const signChatPost = (secret: string, body: string): string =>
  `sha256=${createHmac("sha256", webhookKey(secret)).update(body).digest("hex")}`

/** The JSON body of a server-to-server chat post. */
export const ChatPost = Schema.Struct({
  /** The visitor's chat address (`v_...` or `u_...`), as the host knows it. */
  visitor: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(512)),
  id: ClientMessageId,
  text: Schema.String.pipe(Schema.minLength(1)),
  name: Schema.optional(Schema.String.pipe(Schema.maxLength(256))),
  /** Epoch milliseconds; default: when the post arrived. */
  sentAt: Schema.optional(Schema.Number),
  /** An email the host vouches for (verified) or the visitor typed (not verified). */
  email: Schema.optional(Schema.Struct({ address: Schema.String, verified: Schema.Boolean }))
})
/** @see ChatPost */
export type ChatPost = typeof ChatPost.Type

const decodePost = Schema.decodeUnknownEither(Schema.parseJson(ChatPost))

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } })

/**
 * The fetch-style handler for signed chat posts. Verifies before parsing, answers 200 only
 * after the hub committed (or with `{ vetoed: { hook, reason } }` when an ingest hook refused the
 * message), 503 when it could not store (retry), and 403 for a bad signature.
 */
export const makeChatWebhook =
  (runtime: ChatRuntime) =>
  async (request: Request): Promise<Response> => {
    if (request.method !== "POST") return json(405, { error: "[dialogi/chat] method not allowed" })
    const body = await request.text()
    const expected = Buffer.from(signChatPost(runtime.config.secret, body))
    const given = Buffer.from(request.headers.get(chatSignatureHeader) ?? "")
    if (expected.length !== given.length || !timingSafeEqual(expected, given))
      return json(403, { error: "[dialogi/chat] invalid signature" })
    const decoded = decodePost(body)
    if (Either.isLeft(decoded)) return json(400, { error: "[dialogi/chat] not a chat post" })
    const post = decoded.right
    if (post.text.trim().length > runtime.config.maxTextLength)
      return json(400, {
        error: `[dialogi/chat] text longer than ${runtime.config.maxTextLength} characters`
      })
    if (runtime.blocked.has(post.visitor)) return json(403, { error: "[dialogi/chat] visitor is blocked" })
    try {
      const receipt = await ingestVisitorMessage(
        runtime.context,
        runtime.config.channel,
        {
          address: post.visitor,
          verified: false,
          name: post.name,
          claims: post.email === undefined ? [] : [{ channel: "email", ...post.email }]
        },
        post.id,
        post.text.trim(),
        post.sentAt ?? Date.now()
      )
      // The visitor's open tabs show the message too.
      runtime.learnConversation(post.visitor, receipt.conversationId)
      void runtime.pumpVisitor(post.visitor)
      return json(200, receipt)
    } catch (error) {
      if (error instanceof IngestRefused && error.code === "invalid")
        return json(400, { error: error.message })
      // Recorded by the hub and final: 200 so the relaying backend does not retry it into another veto.
      if (error instanceof IngestRefused && error.code === "vetoed") return json(200, { vetoed: error.veto })
      return json(503, { error: "[dialogi/chat] not stored, retry later" })
    }
  }
