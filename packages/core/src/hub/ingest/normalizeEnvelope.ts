import { Effect, ParseResult, Schema } from "effect"
import {
  type InboundEnvelope,
  InboundEnvelope as InboundEnvelopeSchema,
  StatusUpdate
} from "../../adapter/InboundEnvelope.js"
import type { InvalidAddress } from "../../domain/Errors.js"
import { InvalidInput } from "../../domain/Errors.js"
import type { AdapterRegistry } from "../AdapterRegistry.js"

const decodeEnvelope = Schema.decodeUnknown(InboundEnvelopeSchema)
const decodeStatus = Schema.decodeUnknown(StatusUpdate)

const invalid = (what: string) => (error: ParseResult.ParseError) =>
  new InvalidInput({ what, message: ParseResult.TreeFormatter.formatErrorSync(error) })

/**
 * Decodes an adapter's envelope and normalizes every address in it, before any transaction
 * starts: a malformed envelope fails here with a typed error and touches nothing.
 */
export const normalizeEnvelope = (
  registry: AdapterRegistry,
  input: unknown
): Effect.Effect<InboundEnvelope, InvalidInput | InvalidAddress> =>
  Effect.gen(function* () {
    const envelope = yield* decodeEnvelope(input).pipe(Effect.mapError(invalid("InboundEnvelope")))
    const address = yield* registry.normalize(envelope.channel, envelope.from.address)
    const claims = yield* Effect.forEach(envelope.claims, (claim) =>
      Effect.map(registry.normalize(claim.channel, claim.address), (normalized) => ({
        ...claim,
        address: normalized
      }))
    )
    return { ...envelope, from: { ...envelope.from, address }, claims }
  })

/** Decodes a provider status report. */
export const decodeStatusUpdate = (input: unknown): Effect.Effect<StatusUpdate, InvalidInput> =>
  decodeStatus(input).pipe(Effect.mapError(invalid("StatusUpdate")))
