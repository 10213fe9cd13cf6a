import type { DialogiHub } from "@dialogi/core"

/** What the inbox shows of a conversation's SLA clock. */
export interface ReplyDue {
  /** Epoch ms the customer was promised a reply by; absent while the clock is paused. */
  readonly dueAt: number | undefined
  readonly paused: boolean
  readonly breached: boolean
}

/**
 * The part of the SLA API the inbox reads (`hub.sla.expectedReply`, core's SLA engine). It is
 * read structurally, so the inbox runs on a core without SLA and shows countdowns as soon as
 * the hub has them.
 */
interface SlaReader {
  readonly expectedReply: (conversationId: string) => Promise<unknown>
}

const hasSla = (hub: object): hub is { readonly sla: SlaReader } => {
  const sla = (hub as { readonly sla?: unknown }).sla
  return (
    typeof sla === "object" &&
    sla !== null &&
    typeof (sla as { readonly expectedReply?: unknown }).expectedReply === "function"
  )
}

const toReplyDue = (value: unknown): ReplyDue | undefined => {
  if (typeof value !== "object" || value === null) return undefined
  const { dueAt, paused, breached } = value as { dueAt?: unknown; paused?: unknown; breached?: unknown }
  const due = dueAt instanceof Date && !Number.isNaN(dueAt.getTime()) ? dueAt.getTime() : undefined
  return { dueAt: due, paused: paused === true, breached: breached === true }
}

/**
 * When the customer can expect a reply, or undefined when the hub has no SLA engine, no clock
 * runs on the conversation, or the lookup fails: the countdown is extra information, so it
 * never breaks the inbox.
 */
export const expectedReplyReader = (hub: DialogiHub) => {
  if (!hasSla(hub)) return undefined
  const sla = hub.sla
  return async (conversationId: string): Promise<ReplyDue | undefined> =>
    sla.expectedReply(conversationId).then(toReplyDue, () => undefined)
}
