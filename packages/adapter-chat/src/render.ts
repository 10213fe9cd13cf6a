import type { MessagePart } from "@dialogi/core"
import type { ChatHistoryEntry } from "./history.js"
import { clientIdOf } from "./inbound.js"
import type { ChatAuthor, ServerFrame } from "./protocol.js"

// The widget renders plain text only (with textContent), so every part is reduced to text
// here; html from another channel (an email reply) loses its markup rather than being trusted.
const textOf = (part: MessagePart): string => {
  switch (part._tag) {
    case "text":
      return part.text
    case "html":
      return part.html
        .replace(/<(script|style)[\s\S]*?<\/\1>/gi, "")
        .replace(/<br\s*\/?>|<\/p>/gi, "\n")
        .replace(/<[^>]*>/g, "")
        .replace(/&nbsp;/g, " ")
        .replace(/&lt;/g, "<")
        .replace(/&gt;/g, ">")
        .replace(/&quot;/g, '"')
        .replace(/&#39;/g, "'")
        .replace(/&amp;/g, "&")
    case "attachment":
      return `[attachment${part.attachment.filename ? `: ${part.attachment.filename}` : ""}]`
    case "voice":
      return part.transcript ?? "[voice message]"
    case "call":
      return `[call ${part.event.replace("_", " ")}]`
  }
}

const authorOf = (entry: ChatHistoryEntry): ChatAuthor => {
  const author = entry.message.author._tag
  return author === "contact" ? "visitor" : author
}

/** The `message` frame a visitor's widget gets for one stored message. */
export const messageFrame = (entry: ChatHistoryEntry, address: string): ServerFrame => {
  const clientId =
    entry.message.direction === "inbound" ? clientIdOf(address, entry.message.providerMessageId) : undefined
  const sentAt = entry.message.sentAt
  return {
    type: "message",
    seq: entry.seq,
    id: entry.message.id,
    ...(clientId === undefined ? {} : { clientId }),
    author: authorOf(entry),
    channel: entry.message.channel,
    text: entry.message.parts.map(textOf).join("\n").trim(),
    at: sentAt instanceof Date ? sentAt.getTime() : Number(sentAt)
  }
}
