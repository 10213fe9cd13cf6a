import type { DialogiHub } from "@dialogi/core"

/** What the inbox shows of a conversation's SLA clock. */
export interface ReplyDue {
  /** Epoch ms the customer was promised a reply by; absent while the clock is paused. */
  readonly dueAt: number | undefined
  readonly paused: boolean
  readonly breached: boolean
}

/**
 * When the customer can expect a reply (core's `hub.sla.expectedReply`), or undefined when no
 * response clock runs. A failed lookup also gives undefined: the countdown is extra
 * information and never breaks the inbox.
 */
export const expectedReplyReader =
  (hub: DialogiHub) =>
  async (conversationId: string): Promise<ReplyDue | undefined> => {
    const expected = await hub.sla.expectedReply(conversationId).catch(() => undefined)
    if (expected === undefined) return undefined
    return { dueAt: expected.dueAt?.getTime(), paused: expected.paused, breached: expected.breached }
  }
