import type { Server } from "node:http"
import { createChatAdapter, hubHistory } from "@dialogi/adapter-chat"
import { createFacebookAdapter, type FacebookAdapterConfig } from "@dialogi/adapter-facebook"
import type { DialogiEvent, DialogiHub, StoreService } from "@dialogi/core"
import { createHub, toNodeListener } from "@dialogi/core"
import { Schema } from "effect"
import type { ErrorRequestHandler, Express } from "express"

/** The store and channel settings the app gives dialogi. */
export type DialogiGlue = { store: StoreService; chatSecret: string; messenger: FacebookAdapterConfig }
/** The app's own code that follows the conversations: every event after `lastSeq`, in order. */
export type EventSink = { lastSeq: number; record: (event: DialogiEvent) => void | Promise<void> }

const ReplyBody = Schema.Struct({ text: Schema.NonEmptyTrimmedString, agentId: Schema.NonEmptyString })
const http = new Map(Object.entries({ NotFound: 404, ParseError: 400, InvalidInput: 400, ReplyRefused: 409 }))
const onError: ErrorRequestHandler = (error, _req, res, _next) => {
  res.status(http.get(error?._tag) ?? 500).json({ error: error?._tag, message: error?.message })
}

/** Adds dialogi to an existing Express app and its http server; returns the hub. */
export const mountDialogi = async (app: Express, server: Server, glue: DialogiGlue, sink: EventSink) => {
  let hub: DialogiHub
  const chat = createChatAdapter({ secret: glue.chatSecret, history: hubHistory(() => hub) })
  hub = await createHub({ store: glue.store, adapters: [chat, createFacebookAdapter(glue.messenger)] })
  chat.attach(server) // the chat widget's WebSocket, at /chat
  // Providers sign the raw bytes: no body parser may run before these routes.
  app.all("/webhooks/:channel", (req, res) => toNodeListener(hub.webhook(req.params.channel))(req, res))
  app.post("/api/conversations/:id/reply", async (req, res) => {
    const { text, agentId } = Schema.decodeUnknownSync(ReplyBody)(req.body)
    res.status(202).json(await hub.reply(req.params.id, text, { author: { _tag: "agent", id: agentId } }))
  })
  app.use(onError)
  const events = hub.events.subscribe(sink.lastSeq)
  server.on("close", () => events.close()) // the app shuts down: stop forwarding before the hub closes
  ;(async () => {
    for await (const event of events) await sink.record(event)
  })().catch((error) => console.error("[app] event forwarding stopped; a restart resumes at lastSeq", error))
  return hub
}
