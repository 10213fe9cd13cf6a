import type { IncomingMessage, ServerResponse } from "node:http"
import { Assignee, ConversationStatus, type DialogiHub } from "@dialogi/core"
import { Schema } from "effect"
import { AgentId, type AgentSession } from "./agentAuth.ts"
import { handoffTargets } from "./agentRoster.ts"
import type { ReplyDue } from "./expectedReply.ts"
import { BadRequest, readJson, sendJson } from "./httpExchange.ts"
import {
  channelChoices,
  conversationRow,
  handoffView,
  messageView,
  refusalText,
  type ThreadView
} from "./inboxViews.ts"
import { type AgentPresence, resumeCursor, streamEvents } from "./liveEvents.ts"

const MessageText = Schema.String.pipe(Schema.trimmed(), Schema.minLength(1), Schema.maxLength(20_000))
const ReplyBody = Schema.Struct({
  text: MessageText,
  channel: Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(40)))
})
const NoteBody = Schema.Struct({ text: MessageText })
const AssignBody = Schema.Struct({ assignee: Assignee })
const StatusBody = Schema.Struct({ status: ConversationStatus })
const HandoffBody = Schema.Struct({
  to: Schema.Union(
    Schema.TaggedStruct("agent", { id: AgentId }),
    Schema.TaggedStruct("team", { id: AgentId }),
    Schema.TaggedStruct("bot", { id: AgentId })
  ),
  reason: Schema.String.pipe(Schema.trimmed(), Schema.minLength(1), Schema.maxLength(500)),
  note: Schema.optional(Schema.String.pipe(Schema.maxLength(10_000)))
})
const DeclineBody = Schema.Struct({ reason: Schema.optional(Schema.String.pipe(Schema.maxLength(500))) })
const StatusFilter = Schema.Union(ConversationStatus, Schema.Literal("all"))

/** What the API needs from the rest of the app. */
export interface InboxApiDeps {
  readonly hub: DialogiHub
  /** Configured channel names, for the reply picker. */
  readonly channels: ReadonlyArray<string>
  readonly expectedReply: ((conversationId: string) => Promise<ReplyDue | undefined>) | undefined
  readonly eventHead: () => number
  readonly presence?: AgentPresence | undefined
}

const tagOf = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && "_tag" in error ? String(error._tag) : undefined

/** Maps the hub's tagged errors to HTTP answers; anything else is a 500 without details. */
const answerError = (res: ServerResponse, error: unknown): void => {
  if (error instanceof BadRequest) {
    sendJson(res, error.status, { error: error.message })
    return
  }
  const tag = tagOf(error)
  if (tag === "NotFound") sendJson(res, 404, { error: "not found" })
  else if (tag === "InvalidInput") sendJson(res, 400, { error: (error as { message: string }).message })
  else if (tag === "RoutingNotFound") sendJson(res, 404, { error: (error as { message: string }).message })
  else if (tag === "NotPermitted") sendJson(res, 403, { error: (error as { message: string }).message })
  else if (tag === "HandoffNotPending" || tag === "AtCapacity")
    sendJson(res, 409, { error: (error as { message: string }).message })
  else if (tag === "ReplyRefused") {
    const refusal = (error as { refusal: Parameters<typeof refusalText>[0] }).refusal
    sendJson(res, 409, { error: refusalText(refusal), refusal: refusal._tag })
  } else {
    console.error("[dialogi/inbox] request failed", error)
    sendJson(res, 500, { error: "internal error" })
  }
}

/**
 * A conversation outside the agent's teams answers exactly like one that does not exist, so
 * its id tells an outsider nothing.
 */
const asViewer = <A>(read: Promise<A>): Promise<A> =>
  read.catch((error: unknown) => {
    throw tagOf(error) === "NotPermitted" ? new BadRequest({ status: 404, message: "not found" }) : error
  })

/**
 * The agent API under /inbox/api. Every route is behind sign-in (the server checks the
 * session before it calls this), shows and changes only conversations the signed-in agent may
 * see (their teams', their own; all for admins), reads and writes only through the hub's public API, and
 * validates bodies with Schema, so a bad request changes nothing.
 */
export const makeInboxApi = (deps: InboxApiDeps) => {
  const { hub } = deps

  const listConversations = async (query: URLSearchParams, agentId: string) => {
    const status = Schema.decodeUnknownSync(StatusFilter)(query.get("status") ?? "open")
    // Taken before the list is read: the page's event stream starts here and so cannot miss
    // a change that lands while the list is being built.
    const cursor = deps.eventHead()
    const page = await hub.listConversations(
      status === "all" ? { visibleTo: agentId } : { status, visibleTo: agentId },
      {
        after: query.get("after") ?? undefined,
        limit: 50
      }
    )
    const rows = await Promise.all(
      page.items.map(async (conversation) =>
        conversationRow(
          conversation,
          await hub.contact(conversation.contactId),
          await deps.expectedReply?.(conversation.id)
        )
      )
    )
    return { cursor, items: rows, next: page.next ?? null }
  }

  /**
   * Whether a handoff of this conversation waits for this agent (to them, or to one of their
   * teams): its receiver reads the thread to decide, even from another team, before it is theirs.
   */
  const handoffWaitsFor = async (id: string, agentId: string): Promise<boolean> => {
    const pending = (await hub.handoffs.list(id)).find((h) => h.state === "requested")
    if (pending === undefined) return false
    if (pending.to._tag === "agent") return pending.to.id === agentId
    if (pending.to._tag !== "team") return false
    const teamId = pending.to.id
    return (await hub.routing.participant(agentId).catch(() => undefined))?.teams.includes(teamId) ?? false
  }

  const threadView = async (id: string, agentId: string): Promise<ThreadView> => {
    const thread = await hub.thread(id, { as: agentId }).catch(async (error: unknown) => {
      if (tagOf(error) === "NotPermitted" && (await handoffWaitsFor(id, agentId))) return hub.thread(id)
      return asViewer(Promise.reject(error))
    })
    const picker = await channelChoices(hub, thread, deps.channels)
    return {
      conversation: conversationRow(thread.conversation, thread.contact, await deps.expectedReply?.(id)),
      identities: thread.contact.identities.map((i) => ({
        channel: i.channel,
        address: i.address,
        verified: i.verified
      })),
      messages: thread.messages.map((m) => messageView(m, thread.contact)),
      channels: picker.choices,
      defaultChannel: picker.defaultChannel,
      defaultRefusal: picker.defaultRefusal,
      handoffs: (await hub.handoffs.list(id)).map(handoffView),
      handoffTargets: await handoffTargets(hub)
    }
  }

  /** Refuses, as if it did not exist, a conversation the agent may not see. */
  const requireVisible = async (id: string, agentId: string): Promise<void> => {
    await asViewer(hub.thread(id, { as: agentId }))
  }

  /** Handles one request below /inbox/api; `path` is the part after it. */
  return async (
    req: IncomingMessage,
    res: ServerResponse,
    session: AgentSession,
    url: URL
  ): Promise<void> => {
    const path = url.pathname.slice("/inbox/api".length)
    const method = req.method ?? "GET"
    const agent = { _tag: "agent", id: session.agentId } as const
    try {
      if (method === "GET" && path === "/me")
        return sendJson(res, 200, { agentId: session.agentId, channels: deps.channels })
      if (method === "GET" && path === "/events")
        return streamEvents(hub, req, res, resumeCursor(req, url.searchParams), deps.presence)
      if (method === "GET" && path === "/conversations")
        return sendJson(res, 200, await listConversations(url.searchParams, session.agentId))
      const decision = /^\/handoffs\/([A-Za-z0-9_-]{1,100})\/(accept|decline)$/.exec(path)
      if (method === "POST" && decision) {
        const [, handoffId, verb] = decision as unknown as [string, string, "accept" | "decline"]
        const handoff =
          verb === "accept"
            ? await hub.handoffs.accept(handoffId, session.agentId)
            : await hub.handoffs.decline(
                handoffId,
                session.agentId,
                (await readJson(req, DeclineBody)).reason ?? undefined
              )
        return sendJson(res, 200, handoffView(handoff))
      }
      const match = /^\/conversations\/([A-Za-z0-9_-]{1,100})(\/[a-z]+)?$/.exec(path)
      if (match) {
        const id = match[1]!
        const action = match[2] ?? ""
        if (method === "GET" && action === "")
          return sendJson(res, 200, await threadView(id, session.agentId))
        await requireVisible(id, session.agentId)
        if (method === "POST" && action === "/reply") {
          const body = await readJson(req, ReplyBody)
          const message = await hub.reply(id, body.text, { channel: body.channel, author: agent })
          return sendJson(res, 201, { id: message.id, channel: message.channel })
        }
        if (method === "POST" && action === "/note") {
          const body = await readJson(req, NoteBody)
          const message = await hub.note(id, body.text, agent)
          return sendJson(res, 201, { id: message.id })
        }
        if (method === "POST" && action === "/assign") {
          const body = await readJson(req, AssignBody)
          const conversation = await hub.assign(id, body.assignee)
          return sendJson(res, 200, { assignee: conversation.assignee })
        }
        if (method === "POST" && action === "/handoff") {
          const body = await readJson(req, HandoffBody)
          const handoff = await hub.handoff(id, {
            to: body.to,
            reason: body.reason,
            ...(body.note ? { note: body.note } : {}),
            by: session.agentId
          })
          return sendJson(res, 201, handoffView(handoff))
        }
        if (method === "POST" && action === "/status") {
          const body = await readJson(req, StatusBody)
          const conversation = await hub.setStatus(id, body.status)
          return sendJson(res, 200, { status: conversation.status })
        }
      }
      sendJson(res, 404, { error: "no such route" })
    } catch (error) {
      if (tagOf(error) === "ParseError") return sendJson(res, 400, { error: String(error) })
      answerError(res, error)
    }
  }
}
