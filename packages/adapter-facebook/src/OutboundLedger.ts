/**
 * What this process sent through the Send API, by mid. Meta reports reads only as a watermark
 * ("everything before this time was read") and deliveries often so, while dialogi moves status
 * per message; the ledger turns a watermark into the messages it covers. It also recognises
 * echoes of our own sends.
 *
 * In memory: after a restart, watermarks no longer reach messages sent before it (their
 * status stays `sent`), and echoes are recognised by the `dialogi:` metadata marker instead.
 * Durable watermark semantics need core support (see the README, "What core would need").
 */
export interface OutboundLedger {
  /** Records one dialogi message sent as one or more Messenger messages. */
  readonly record: (address: string, mids: ReadonlyArray<string>, sentAt: number) => void
  /** The mid dialogi stored for the message that `mid` belongs to; undefined = not ours. */
  readonly primaryOf: (mid: string) => string | undefined
  /** Primary mids sent to `address` at or before `watermark`, oldest first. */
  readonly sentUpTo: (address: string, watermark: number) => ReadonlyArray<string>
  /** Forgets what was sent to `address` at or before `watermark` (it was read). */
  readonly forgetUpTo: (address: string, watermark: number) => void
}

interface Sent {
  readonly primary: string
  readonly mids: ReadonlyArray<string>
  readonly sentAt: number
}

/** Creates an empty ledger that keeps at most `limit` unread messages. */
export const makeOutboundLedger = (limit = 100_000): OutboundLedger => {
  const byAddress = new Map<string, Sent[]>()
  const primary = new Map<string, string>()
  let size = 0

  const dropOldest = () => {
    const [address, list] = byAddress.entries().next().value ?? []
    if (!address || !list) return
    const oldest = list.shift()
    if (oldest) {
      for (const mid of oldest.mids) primary.delete(mid)
      size -= 1
    }
    if (list.length === 0) byAddress.delete(address)
  }

  return {
    record: (address, mids, sentAt) => {
      const first = mids[0]
      if (first === undefined) return
      const list = byAddress.get(address) ?? []
      list.push({ primary: first, mids, sentAt })
      byAddress.set(address, list)
      for (const mid of mids) primary.set(mid, first)
      size += 1
      while (size > limit) dropOldest()
    },
    primaryOf: (mid) => primary.get(mid),
    sentUpTo: (address, watermark) =>
      (byAddress.get(address) ?? []).filter((s) => s.sentAt <= watermark).map((s) => s.primary),
    forgetUpTo: (address, watermark) => {
      const list = byAddress.get(address)
      if (!list) return
      const keep = list.filter((s) => s.sentAt > watermark)
      for (const s of list) if (s.sentAt <= watermark) for (const mid of s.mids) primary.delete(mid)
      size -= list.length - keep.length
      if (keep.length === 0) byAddress.delete(address)
      else byAddress.set(address, keep)
    }
  }
}
