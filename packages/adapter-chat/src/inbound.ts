import { type AdapterContext, type IngestReceipt, isHookVetoed } from "@dialogi/core"
import type { Visitor } from "./identity.js"

/**
 * Why a visitor's message was not stored: `invalid` and `vetoed` (an ingest hook refused it; the
 * hub recorded a `hook.ingest_vetoed` event) are final, `unavailable` may be retried.
 */
export class IngestRefused extends Error {
  constructor(
    readonly code: "invalid" | "vetoed" | "unavailable",
    message: string,
    /** For `vetoed`: the hook and its reason, for the host; not shown to the visitor. */
    readonly veto?: { readonly hook: string; readonly reason: string }
  ) {
    super(`[dialogi/chat] ${message}`)
  }
}

/**
 * The provider message id of a visitor's message. The client's id is scoped by the visitor's
 * address: a bare client id would let one visitor replay another's id, get the original back
 * as a "duplicate" receipt, and with it the other visitor's conversation.
 */
export const providerIdOf = (address: string, clientId: string): string => `${address}/${clientId}`

/** The client id inside a provider id written by {@link providerIdOf}, if it is this visitor's. */
export const clientIdOf = (address: string, providerMessageId: string | undefined): string | undefined =>
  providerMessageId?.startsWith(`${address}/`) ? providerMessageId.slice(address.length + 1) : undefined

/**
 * Stores one visitor message through the hub. Resolves only after the hub committed it, so
 * the caller may acknowledge the visitor exactly then; a resend with the same client id is
 * a duplicate that returns the original.
 */
export const ingestVisitorMessage = async (
  context: AdapterContext | undefined,
  channel: string,
  visitor: Pick<Visitor, "address" | "verified" | "name" | "claims">,
  clientId: string,
  text: string,
  sentAt: number
): Promise<IngestReceipt> => {
  if (!context) throw new IngestRefused("unavailable", "the hub has not started this adapter yet")
  try {
    return await context.ingest({
      channel,
      providerMessageId: providerIdOf(visitor.address, clientId),
      from: {
        address: visitor.address,
        ...(visitor.name === undefined ? {} : { name: visitor.name }),
        verified: visitor.verified
      },
      claims: [...visitor.claims],
      parts: [{ _tag: "text", text }],
      sentAt,
      metadata: { clientId }
    })
  } catch (error) {
    // Final: a resend would be vetoed (and recorded) again. The hook's reason is for the host
    // (it may name internal policy), so the visitor's text stays generic.
    if (isHookVetoed(error))
      throw new IngestRefused("vetoed", "this message was not accepted", {
        hook: error.hook,
        reason: error.reason
      })
    const tag = (error as { _tag?: unknown })._tag
    if (tag === "InvalidInput" || tag === "InvalidAddress")
      throw new IngestRefused(
        "invalid",
        `message refused by the hub: ${String((error as Error).message ?? tag)}`
      )
    throw new IngestRefused("unavailable", "message not stored, send it again later")
  }
}
