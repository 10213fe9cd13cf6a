/** Meta's standard messaging window after the customer's last message. */
export const standardWindowSeconds = 24 * 60 * 60
/** How long the HUMAN_AGENT tag extends it, for pages with the Human Agent permission. */
export const humanAgentWindowSeconds = 7 * 24 * 60 * 60

/** How a message may go out now: which `messaging_type` (and tag), or not at all. */
export type SendPolicy =
  | { readonly _tag: "response" }
  | { readonly _tag: "human_agent" }
  | { readonly _tag: "closed"; readonly closedAt: Date }

/**
 * Meta's rule: RESPONSE within 24 h of the customer's last message; after that only MESSAGE_TAG
 * with HUMAN_AGENT, up to 7 days, and only when the app holds that permission for the page.
 * Unknown last message (this process never saw one): RESPONSE, and Meta has the last word.
 */
export const sendPolicy = (
  lastInboundAt: number | undefined,
  now: number,
  humanAgent: boolean
): SendPolicy => {
  if (lastInboundAt === undefined) return { _tag: "response" }
  if (now < lastInboundAt + standardWindowSeconds * 1000) return { _tag: "response" }
  if (humanAgent && now < lastInboundAt + humanAgentWindowSeconds * 1000) return { _tag: "human_agent" }
  const window = humanAgent ? humanAgentWindowSeconds : standardWindowSeconds
  return { _tag: "closed", closedAt: new Date(lastInboundAt + window * 1000) }
}

/**
 * The customer's last message time per address, as far as this process knows it (from
 * webhooks and from the hub's reply checks). The send worker reads it to choose the
 * messaging_type, because core's SendRequest does not carry the last inbound time.
 */
export interface LastInbound {
  readonly note: (address: string, at: number) => void
  readonly get: (address: string) => number | undefined
}

/** Creates the map; keeps at most `limit` addresses (oldest forgotten first). */
export const makeLastInbound = (limit = 100_000): LastInbound => {
  const times = new Map<string, number>()
  return {
    note: (address, at) => {
      const known = times.get(address)
      if (known !== undefined && known >= at) return
      times.delete(address)
      times.set(address, at)
      if (times.size > limit) {
        const oldest = times.keys().next().value
        if (oldest !== undefined) times.delete(oldest)
      }
    },
    get: (address) => times.get(address)
  }
}
