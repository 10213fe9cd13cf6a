import type { Effect } from "effect"
import type { ChannelAdapter } from "../adapter/ChannelAdapter.js"
import { type AddressKind, defaultAddressKinds, normalizeAddress } from "../domain/Address.js"
import type { InvalidAddress } from "../domain/Errors.js"

/** The adapters of a hub by channel, and how each channel's addresses are normalized. */
export interface AdapterRegistry {
  readonly get: (channel: string) => ChannelAdapter | undefined
  readonly all: ReadonlyArray<ChannelAdapter>
  readonly normalize: (channel: string, address: string) => Effect.Effect<string, InvalidAddress>
}

/** Builds the registry; a channel registered twice is a configuration error. */
export const makeAdapterRegistry = (
  adapters: ReadonlyArray<ChannelAdapter>,
  defaultRegion: string | undefined
): AdapterRegistry => {
  const byChannel = new Map<string, ChannelAdapter>()
  for (const adapter of adapters) {
    if (byChannel.has(adapter.channel))
      throw new Error(`[dialogi] two adapters registered for channel "${adapter.channel}"`)
    byChannel.set(adapter.channel, adapter)
  }
  const kindOf = (channel: string): AddressKind =>
    byChannel.get(channel)?.addressKind ?? defaultAddressKinds[channel] ?? "opaque"
  return {
    get: (channel) => byChannel.get(channel),
    all: [...byChannel.values()],
    normalize: (channel, address) => normalizeAddress(kindOf(channel), channel, address, { defaultRegion })
  }
}
