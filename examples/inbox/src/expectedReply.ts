import type { DialogiHub } from "@dialogi/core"

/** The part of the SLA API the inbox uses, when the hub has it (`hub.sla.expectedReply`). */
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

const toEpochMs = (value: unknown): number | undefined => {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.getTime()
  if (typeof value === "number" && Number.isFinite(value)) return value
  if (typeof value === "object" && value !== null)
    for (const key of ["dueAt", "due", "at"]) {
      const inner = (value as Record<string, unknown>)[key]
      if (inner !== undefined) return toEpochMs(inner)
    }
  return undefined
}

/**
 * When the customer can expect a reply, as epoch ms, or undefined when the hub has no SLA
 * engine, no clock runs on the conversation, or the lookup fails: the countdown is extra
 * information, so it never breaks the inbox.
 */
export const expectedReplyReader = (hub: DialogiHub) => {
  if (!hasSla(hub)) return undefined
  const sla = hub.sla
  return async (conversationId: string): Promise<number | undefined> =>
    sla.expectedReply(conversationId).then(toEpochMs, () => undefined)
}
