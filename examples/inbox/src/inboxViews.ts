import type {
  Contact,
  Conversation,
  DialogiHub,
  Handoff,
  Message,
  MessagePart,
  ReplyRefusal,
  Thread
} from "@dialogi/core"
import type { ReplyDue } from "./expectedReply.ts"
import { mailFrameDocument } from "./mailFrame.ts"

/** A conversation row of the inbox list. */
export interface ConversationRow {
  readonly id: string
  readonly status: Conversation["status"]
  readonly assignee: Conversation["assignee"]
  readonly priority: Conversation["priority"]
  readonly lastChannel: string | undefined
  readonly lastMessageAt: number
  readonly contact: { readonly id: string; readonly name: string }
  /** The SLA clock of the next reply, when the hub has an SLA engine and a clock runs. */
  readonly replyDue: ReplyDue | undefined
}

/** A message part as the browser shows it; html arrives as a ready sandboxed frame document. */
export type PartView =
  | { readonly kind: "text"; readonly text: string }
  | { readonly kind: "html"; readonly frame: string }
  | { readonly kind: "attachment"; readonly name: string; readonly contentType: string }
  | { readonly kind: "voice"; readonly transcript: string | undefined; readonly seconds: number | undefined }
  | { readonly kind: "call"; readonly event: string; readonly seconds: number | undefined }

/** One message of the thread view. */
export interface MessageView {
  readonly id: string
  readonly direction: Message["direction"]
  readonly author: string
  readonly channel: string
  readonly internal: boolean
  readonly status: string
  readonly statusReason: string | undefined
  readonly at: number
  readonly parts: ReadonlyArray<PartView>
}

/** A channel of the reply picker: usable now, or why not. */
export interface ChannelChoice {
  readonly channel: string
  readonly available: boolean
  readonly reason: string | undefined
}

/** A handoff as the thread shows it. */
export interface HandoffView {
  readonly id: string
  readonly state: Handoff["state"]
  readonly to: string
  readonly reason: string
  readonly note: string | undefined
  readonly requestedBy: string | undefined
  readonly requestedAt: number
  readonly expiresAt: number
  readonly decidedBy: string | undefined
}

export const handoffView = (handoff: Handoff): HandoffView => ({
  id: handoff.id,
  state: handoff.state,
  to: `${handoff.to._tag} ${handoff.to.id}`,
  reason: handoff.reason,
  note: handoff.note,
  requestedBy: handoff.requestedBy,
  requestedAt: handoff.requestedAt.getTime(),
  expiresAt: handoff.expiresAt.getTime(),
  decidedBy: handoff.decidedBy
})

/** The thread page: the conversation, the customer, the messages and the reply choices. */
export interface ThreadView {
  readonly conversation: ConversationRow
  readonly identities: ReadonlyArray<{ channel: string; address: string; verified: boolean }>
  readonly messages: ReadonlyArray<MessageView>
  readonly channels: ReadonlyArray<ChannelChoice>
  /** The channel a reply goes to when the agent picks none (the customer's last channel). */
  readonly defaultChannel: string | undefined
  readonly defaultRefusal: string | undefined
  readonly handoffs: ReadonlyArray<HandoffView>
  readonly handoffTargets: {
    readonly teams: ReadonlyArray<string>
    readonly participants: ReadonlyArray<{ id: string; kind: string; availability: string }>
  }
}

const displayName = (contact: Contact): string =>
  contact.name ?? contact.identities[0]?.address ?? `customer ${contact.id.slice(-6)}`

const authorLabel = (author: Message["author"], contact: Contact): string => {
  switch (author._tag) {
    case "contact":
      return displayName(contact)
    case "system":
      return "system"
    default:
      return `${author._tag === "agent" ? "" : `${author._tag} `}${author.id}`
  }
}

const partView = (part: MessagePart): PartView => {
  switch (part._tag) {
    case "text":
      return { kind: "text", text: part.text }
    case "html":
      return { kind: "html", frame: mailFrameDocument(part.html) }
    case "attachment":
      return {
        kind: "attachment",
        name: part.attachment.filename ?? part.attachment.ref,
        contentType: part.attachment.contentType
      }
    case "voice":
      return { kind: "voice", transcript: part.transcript, seconds: part.durationSeconds }
    case "call":
      return { kind: "call", event: part.event, seconds: part.durationSeconds }
  }
}

/** A mail with text and html shows the html only; the text is its fallback copy. */
const shownParts = (parts: ReadonlyArray<MessagePart>): ReadonlyArray<MessagePart> =>
  parts.some((p) => p._tag === "html") ? parts.filter((p) => p._tag !== "text") : parts

export const messageView = (message: Message, contact: Contact): MessageView => ({
  id: message.id,
  direction: message.direction,
  author: authorLabel(message.author, contact),
  channel: message.channel,
  internal: message.visibility === "internal",
  status: message.status._tag,
  statusReason: message.status._tag === "failed" ? message.status.reason : undefined,
  at: message.sentAt.getTime(),
  parts: shownParts(message.parts).map(partView)
})

/** Says, in an agent's words, why a reply cannot go out on a channel. */
export const refusalText = (refusal: ReplyRefusal): string => {
  switch (refusal._tag) {
    case "NoIdentity":
      return `the customer has no ${refusal.channel} address`
    case "NoAdapter":
      return `${refusal.channel} is not configured in this inbox`
    case "WindowClosed": {
      const others = refusal.alternatives.length > 0 ? `; try ${refusal.alternatives.join(" or ")}` : ""
      return `the ${refusal.channel} reply window closed ${refusal.closedAt.toISOString()}${others}`
    }
    case "NeedsTagOrTemplate":
      return refusal.detail
    case "CapabilityMissing":
      return `${refusal.channel} cannot carry ${refusal.capability}`
    case "TooLong":
      return `${refusal.length} characters; ${refusal.channel} takes at most ${refusal.maxLength}`
    case "OptedOut":
      return `the customer opted out of ${refusal.channel}`
    case "NoChannel":
      return refusal.detail
    case "CheckFailed":
      return refusal.detail
  }
}

export const conversationRow = (
  conversation: Conversation,
  contact: Contact,
  replyDue: ReplyDue | undefined
): ConversationRow => ({
  id: conversation.id,
  status: conversation.status,
  assignee: conversation.assignee,
  priority: conversation.priority,
  lastChannel: conversation.lastInboundChannel,
  lastMessageAt: conversation.lastMessageAt.getTime(),
  contact: { id: contact.id, name: displayName(contact) },
  replyDue
})

/**
 * The reply picker: every configured channel plus any the customer has an identity on, each
 * checked with `hub.canReply` so the page can say why one is unavailable before the agent types.
 */
export const channelChoices = async (
  hub: DialogiHub,
  thread: Thread,
  configured: ReadonlyArray<string>
): Promise<{ choices: ReadonlyArray<ChannelChoice>; defaultChannel?: string; defaultRefusal?: string }> => {
  const names = [...new Set([...configured, ...thread.contact.identities.map((i) => i.channel)])]
  const choices = await Promise.all(
    names.map(async (channel): Promise<ChannelChoice> => {
      const check = await hub.canReply(thread.conversation.id, channel)
      return check.ok
        ? { channel, available: true, reason: undefined }
        : { channel, available: false, reason: refusalText(check.refusal) }
    })
  )
  const fallback = await hub.canReply(thread.conversation.id)
  return fallback.ok
    ? { choices, defaultChannel: fallback.channel }
    : {
        choices,
        ...(thread.conversation.lastInboundChannel
          ? { defaultChannel: thread.conversation.lastInboundChannel }
          : {}),
        defaultRefusal: refusalText(fallback.refusal)
      }
}
