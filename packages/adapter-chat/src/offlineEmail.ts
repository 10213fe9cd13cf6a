import type { DialogiHub, MessagePart } from "@dialogi/core"
import type { ChatHistoryEntry } from "./history.js"

/** An agent reply the chat could not hand to any open socket. */
export interface UndeliveredReply {
  readonly conversationId: string
  readonly messageId: string
}

/** What the offline fallback did with one reply. */
export type OfflineOutcome =
  | { readonly _tag: "emailed"; readonly messageId: string; readonly copyId: string }
  | {
      readonly _tag: "skipped"
      readonly messageId: string
      /**
       * `delivered`: a socket (on any instance) took it; `not_sent`: the reply failed or is still queued; `already_copied`: a copy exists;
       * `refused`: the hub will not send on the email channel (`detail` says why, e.g.
       * `NoIdentity` when the visitor gave no email that core linked); `gone`: no such message.
       */
      readonly reason: "delivered" | "not_sent" | "already_copied" | "refused" | "gone"
      readonly detail?: string | undefined
    }

/**
 * Sends an agent reply again on another channel when the visitor has left. The adapter calls
 * `deliver` `afterMs` after a reply that no socket of this instance took; wire it with
 * {@link hubOfflineEmail}.
 */
export interface ChatOfflineFallback {
  /** How long a reply may stay undelivered before the visitor counts as gone. */
  readonly afterMs: number
  readonly deliver: (reply: UndeliveredReply) => Promise<OfflineOutcome>
}

/** The part of the hub that {@link hubOfflineEmail} uses. */
export type HubReplier = Pick<DialogiHub, "thread" | "canReply" | "reply">

/** Options of {@link hubOfflineEmail}. */
export interface OfflineEmailOptions {
  /**
   * How long a reply may stay undelivered before it is emailed. A visitor who reloads the page
   * or whose socket sits on another instance (which reports `delivered`) is not emailed.
   * Default 60 s.
   */
  readonly afterMs?: number | undefined
  /** The email channel's name; default `email`. */
  readonly channel?: string | undefined
  /** Told what happened to each undelivered reply (for logs and metrics). */
  readonly onOutcome?: ((outcome: OfflineOutcome) => void) | undefined
}

const sameParts = (a: ReadonlyArray<MessagePart>, b: ReadonlyArray<MessagePart>): boolean =>
  JSON.stringify(a) === JSON.stringify(b)

/**
 * The author of an offline copy. A system message leaves the SLA clocks alone (the chat reply
 * already answered) and tells the widget not to show the same reply twice
 * ({@link isOfflineCopy}).
 */
const copyAuthor = { _tag: "system" } as const

/**
 * Whether a history entry is a message the visitor's widget should not show: an automatic
 * message that left on another channel, such as the email copy of a chat reply (which the
 * widget already shows) or an email auto-acknowledgement.
 */
export const isOfflineCopy = (entry: ChatHistoryEntry, chatChannel: string): boolean =>
  entry.message.direction === "outbound" &&
  entry.message.author._tag === "system" &&
  entry.message.channel !== chatChannel

/**
 * Emails an agent's chat reply, through `hub.reply` on the email channel (so the email
 * adapter's threading applies and the copy is part of the same thread), when no socket took
 * it within `afterMs`. The chat reply stays in the thread for the visitor's next visit.
 *
 * Who gets it follows core's identity rules: the copy goes to the conversation contact's email
 * identity, which a chat visitor only has when the host signed their email (`signIdentity`) or
 * an agent linked or merged it. An email typed in or put on the page unsigned is only a claim,
 * never linked, so it never receives a copy.
 */
export const hubOfflineEmail = (
  hub: HubReplier | (() => HubReplier),
  options: OfflineEmailOptions = {}
): ChatOfflineFallback => {
  const afterMs = options.afterMs ?? 60_000
  if (!Number.isFinite(afterMs) || afterMs < 0)
    throw new Error("[dialogi/chat] hubOfflineEmail afterMs must be a number of milliseconds >= 0")
  const channel = options.channel ?? "email"
  const report = (outcome: OfflineOutcome): OfflineOutcome => {
    options.onOutcome?.(outcome)
    return outcome
  }
  return {
    afterMs,
    deliver: async ({ conversationId, messageId }) => {
      const replier = typeof hub === "function" ? hub() : hub
      const skipped = (reason: Extract<OfflineOutcome, { _tag: "skipped" }>["reason"], detail?: string) =>
        report({ _tag: "skipped", messageId, reason, ...(detail === undefined ? {} : { detail }) })
      const thread = await replier.thread(conversationId)
      const index = thread.messages.findIndex((m) => m.id === messageId)
      const reply = thread.messages[index]
      if (reply === undefined) return skipped("gone")
      const status = reply.status._tag
      if (status === "delivered" || status === "read") return skipped("delivered")
      if (status !== "sent") return skipped("not_sent", status)
      // A retried send job may ask twice; the first copy is enough.
      const copied = thread.messages
        .slice(index + 1)
        .some(
          (m) =>
            m.direction === "outbound" &&
            m.channel === channel &&
            m.author._tag === copyAuthor._tag &&
            sameParts(m.parts, reply.parts)
        )
      if (copied) return skipped("already_copied")
      const content = { parts: reply.parts }
      const check = await replier.canReply(conversationId, channel, content)
      if (!check.ok) return skipped("refused", check.refusal._tag)
      const copy = await replier.reply(conversationId, content, { channel, author: copyAuthor })
      return report({ _tag: "emailed", messageId, copyId: copy.id })
    }
  }
}
