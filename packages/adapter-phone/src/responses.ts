import { isHookVetoed } from "@dialogi/core"
import twilio from "twilio"

/** TwiML answer (Twilio reads the body of every webhook response as TwiML). */
export const twimlResponse = (xml: string, status = 200): Response =>
  new Response(xml, { status, headers: { "content-type": "text/xml; charset=utf-8" } })

/** A plain error answer; Twilio retries 5xx on inbound messages, so 503 means "not stored". */
export const errorResponse = (status: number, message: string): Response =>
  new Response(message, { status, headers: { "content-type": "text/plain; charset=utf-8" } })

/**
 * Maps a failed ingest to the answer Twilio should get. A hook veto gets empty TwiML (success,
 * nothing said to the sender): the hub recorded the refusal, and a 5xx would make Twilio retry
 * into the same veto, recording it again each time.
 */
export const ingestFailureResponse = (channel: string, error: unknown): Response => {
  if (isHookVetoed(error)) return twimlResponse(new twilio.twiml.MessagingResponse().toString())
  const tag = (error as { _tag?: string })._tag
  if (tag === "InvalidInput" || tag === "InvalidAddress" || tag === "MalformedWebhook")
    return errorResponse(400, `[dialogi/${channel}] ${tag}: ${(error as Error).message ?? ""}`)
  return errorResponse(503, `[dialogi/${channel}] not stored, retry later`)
}
