import type { AdapterContext, IngestReceipt } from "@dialogi/core"
import type { Visitor } from "./identity.js"

/** Why a visitor's message was not stored: `invalid` is final, `unavailable` may be retried. */
export class IngestRefused extends Error {
  constructor(
    readonly code: "invalid" | "unavailable",
    message: string
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
    const tag = (error as { _tag?: unknown })._tag
    if (tag === "InvalidInput" || tag === "InvalidAddress")
      throw new IngestRefused(
        "invalid",
        `message refused by the hub: ${String((error as Error).message ?? tag)}`
      )
    throw new IngestRefused("unavailable", "message not stored, send it again later")
  }
}
