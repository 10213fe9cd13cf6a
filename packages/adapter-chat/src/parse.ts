import { Either, ParseResult, Schema } from "effect"
import { ClientFrame } from "./protocol.js"

const decodeFrame = Schema.decodeUnknownEither(Schema.parseJson(ClientFrame))

/** The outcome of reading one WebSocket text frame. */
export type ParsedFrame =
  | { readonly _tag: "frame"; readonly frame: ClientFrame }
  | { readonly _tag: "invalid"; readonly reason: string }

/**
 * Decodes one client frame. Anything that is not valid JSON matching the protocol comes back
 * as `invalid` with a short reason; the connection answers it with an error frame and keeps
 * going, since one bad frame from a buggy widget is no reason to drop the visitor.
 */
export const parseClientFrame = (data: string): ParsedFrame => {
  const result = decodeFrame(data)
  if (Either.isRight(result)) return { _tag: "frame", frame: result.right }
  const detail = ParseResult.TreeFormatter.formatErrorSync(result.left)
  return { _tag: "invalid", reason: detail.length > 300 ? `${detail.slice(0, 300)}...` : detail }
}
