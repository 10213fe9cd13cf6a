/**
 * When the visitor can expect an answer in a conversation: the due time of the service level's
 * running first or next response clock, as epoch milliseconds, or `undefined` when nobody owes
 * them a reply (answered, resolved, paused, no policy). The widget shows it under the header.
 */
export type ChatExpectedReply = (conversationId: string) => Promise<number | undefined>

/** The part of the hub that {@link hubExpectedReply} reads (core's `hub.sla.expectedReply`). */
export interface HubSlaReader {
  readonly sla: {
    readonly expectedReply: (
      conversationId: string
    ) => Promise<{ readonly dueAt?: Date | undefined; readonly paused: boolean } | undefined>
  }
}

/**
 * A {@link ChatExpectedReply} over the hub's SLA clocks. A paused clock has no due time to
 * promise, so it reads as none. `hub` may be a function so the adapter can be created before
 * the hub that uses it.
 */
export const hubExpectedReply =
  (hub: HubSlaReader | (() => HubSlaReader)): ChatExpectedReply =>
  async (conversationId) => {
    const reader = typeof hub === "function" ? hub() : hub
    const expected = await reader.sla.expectedReply(conversationId)
    return expected === undefined || expected.paused || expected.dueAt === undefined
      ? undefined
      : expected.dueAt.getTime()
  }
