import type { DialogiHub, MessagePart } from "@dialogi/core"
import type { ChatHistoryEntry } from "./history.js"
import { HubNotReady, makeOfflineQueue, type OfflineJobStore, type OfflineLog } from "./offlineQueue.js"

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
       * `delivered`: a socket (on any instance) took it; `not_sent`: the reply failed or is
       * still queued; `already_copied`: a copy exists; `refused`: the hub will not send on the
       * email channel (`detail` says why, e.g. `NoIdentity` when the visitor gave no email that
       * core linked); `gone`: no such message.
       */
      readonly reason: "delivered" | "not_sent" | "already_copied" | "refused" | "gone"
      readonly detail?: string | undefined
    }

/**
 * Sends an agent reply again on another channel when the visitor has left. The adapter starts
 * it with the hub and calls `schedule` for a reply that no socket of its instance took; the
 * check runs later on whichever instance claims it. Wire it with {@link hubOfflineEmail}.
 */
export interface ChatOfflineFallback {
  /** Durably schedules the check of one reply; resolves once it is stored. */
  readonly schedule: (reply: UndeliveredReply) => Promise<void>
  /** Runs due checks until the returned function is called (the adapter's start and stop). */
  readonly start: (log: OfflineLog) => Promise<() => Promise<void>>
}

/** The part of the hub that {@link hubOfflineEmail} uses. */
export type HubReplier = Pick<DialogiHub, "thread" | "canReply" | "reply">

/** Options of {@link hubOfflineEmail}. */
export interface OfflineEmailOptions {
  /**
   * The hub's store: each check is a job on its durable queue, due `afterMs` after the reply,
   * so it survives a restart and runs once among several instances.
   */
  readonly store: OfflineJobStore
  /**
   * How long a reply may stay undelivered before it is emailed. A visitor who reloads the page
   * or whose socket sits on another instance (which reports `delivered`) is not emailed.
   * Default 60 s.
   */
  readonly afterMs?: number | undefined
  /** The email channel's name; default `email`. */
  readonly channel?: string | undefined
  /** The job queue's name; default `dialogi.chat.offline`. */
  readonly queue?: string | undefined
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
 * adapter's threading applies and the copy is part of the same thread), when no socket on any
 * instance took it within `afterMs` (its status is still `sent`, not `delivered` or `read`).
 * The chat reply stays in the thread for the visitor's next visit.
 *
 * Who gets it follows core's identity rules: the copy goes to the conversation contact's email
 * identity, which a chat visitor only has when the host signed their email (`signIdentity`) or
 * an agent linked or merged it. An email typed in or put on the page unsigned is only a claim,
 * never linked, so it never receives a copy.
 */
export const hubOfflineEmail = (
  hub: HubReplier | (() => HubReplier),
  options: OfflineEmailOptions
): ChatOfflineFallback => {
  const afterMs = options.afterMs ?? 60_000
  if (!Number.isFinite(afterMs) || afterMs < 0)
    throw new Error("[dialogi/chat] hubOfflineEmail afterMs must be a number of milliseconds >= 0")
  if (options.store === undefined)
    throw new Error("[dialogi/chat] hubOfflineEmail needs the hub's store: { store }")
  const check = emailIfUndelivered(hub, options.channel ?? "email", options.onOutcome)
  const queue = makeOfflineQueue({
    store: options.store,
    queue: options.queue ?? "dialogi.chat.offline",
    afterMs,
    check
  })
  return { schedule: queue.schedule, start: queue.start }
}

/**
 * The decision of {@link hubOfflineEmail} for one reply, once its time has come: email a copy
 * if it is still undelivered and the hub can send on `channel`.
 */
export const emailIfUndelivered =
  (
    hub: HubReplier | (() => HubReplier),
    channel: string,
    onOutcome?: ((outcome: OfflineOutcome) => void) | undefined
  ) =>
  async ({ conversationId, messageId }: UndeliveredReply): Promise<OfflineOutcome> => {
    const report = (outcome: OfflineOutcome): OfflineOutcome => {
      onOutcome?.(outcome)
      return outcome
    }
    const skipped = (reason: Extract<OfflineOutcome, { _tag: "skipped" }>["reason"], detail?: string) =>
      report({ _tag: "skipped", messageId, reason, ...(detail === undefined ? {} : { detail }) })
    const replier = typeof hub === "function" ? hub() : hub
    if (replier === undefined) throw new HubNotReady()
    const thread = await replier.thread(conversationId)
    const index = thread.messages.findIndex((m) => m.id === messageId)
    const reply = thread.messages[index]
    if (reply === undefined) return skipped("gone")
    const status = reply.status._tag
    if (status === "delivered" || status === "read") return skipped("delivered")
    if (status !== "sent") return skipped("not_sent", status)
    // A check that ran twice (a job retried after its copy was queued) sends one copy.
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
