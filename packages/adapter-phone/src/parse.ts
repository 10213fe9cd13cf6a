import type { DeliveryStatus, InboundEnvelopeInput, MessagePart, StatusUpdateInput } from "@dialogi/core"
import { type CountryCode, parsePhoneNumberFromString } from "libphonenumber-js/max"
import { classifyTwilioError } from "./errorCodes.js"

/** A Twilio webhook that is signed correctly but cannot be understood; answered 400. */
export class MalformedWebhook extends Error {
  override readonly name = "MalformedWebhook"
  readonly _tag = "MalformedWebhook"
}

const required = (channel: string, params: Readonly<Record<string, string>>, name: string): string => {
  const value = params[name]
  if (value === undefined || value.length === 0)
    throw new MalformedWebhook(`[dialogi/${channel}] webhook lacks ${name}`)
  return value
}

/**
 * E.164 form of a number as Twilio sends it. Twilio already sends E.164; `tel:`/`sms:` prefixes
 * and national forms are accepted with a default region. Short codes and alphanumeric sender
 * ids are not phone numbers and are refused rather than stored as someone's identity.
 */
export const toE164 = (channel: string, raw: string, defaultRegion?: string): string => {
  const cleaned = raw.trim().replace(/^(tel:|sms:)/i, "")
  const parsed = parsePhoneNumberFromString(cleaned, defaultRegion as CountryCode | undefined)
  if (!parsed?.isPossible()) throw new MalformedWebhook(`[dialogi/${channel}] not a phone number: ${raw}`)
  return parsed.number
}

/** The parts of an inbound SMS/MMS: the body and one attachment per MediaUrlN. */
export const smsPartsOf = (channel: string, params: Readonly<Record<string, string>>): MessagePart[] => {
  const parts: MessagePart[] = []
  const body = params.Body ?? ""
  if (body.length > 0) parts.push({ _tag: "text", text: body })
  const numMedia = Number(params.NumMedia ?? "0")
  if (!Number.isInteger(numMedia) || numMedia < 0 || numMedia > 10)
    throw new MalformedWebhook(`[dialogi/${channel}] NumMedia is not 0-10: ${params.NumMedia}`)
  for (let i = 0; i < numMedia; i++) {
    const url = required(channel, params, `MediaUrl${i}`)
    // The URL itself is the reference: Twilio serves it with the account's Basic auth.
    parts.push({
      _tag: "attachment",
      attachment: { ref: url, contentType: params[`MediaContentType${i}`] ?? "application/octet-stream" }
    })
  }
  // An empty SMS exists (a keyword-less MMS that failed to download); keep it visible.
  if (parts.length === 0) parts.push({ _tag: "text", text: "" })
  return parts
}

/** Options of {@link smsEnvelopeOf}. */
export interface SmsEnvelopeOptions {
  readonly channel: string
  readonly defaultRegion?: string | undefined
  /** The voice channel whose identity of the same number is the same person, if linked. */
  readonly linkedChannel?: string | undefined
  readonly now: number
}

/** The envelope of an inbound SMS/MMS webhook; MessageSid is the dedupe key. */
export const smsEnvelopeOf = (
  params: Readonly<Record<string, string>>,
  options: SmsEnvelopeOptions
): InboundEnvelopeInput => {
  const { channel } = options
  const sid = required(channel, params, "MessageSid")
  const from = toE164(channel, required(channel, params, "From"), options.defaultRegion)
  const to = toE164(channel, required(channel, params, "To"), options.defaultRegion)
  return {
    channel,
    providerMessageId: sid,
    from: { address: from, verified: false },
    claims: options.linkedChannel ? [{ channel: options.linkedChannel, address: from, verified: true }] : [],
    parts: smsPartsOf(channel, params),
    // Inbound SMS webhooks carry no timestamp; Twilio calls within seconds of receipt.
    sentAt: options.now,
    metadata: {
      to,
      accountSid: params.AccountSid,
      ...(params.MessagingServiceSid ? { messagingServiceSid: params.MessagingServiceSid } : {}),
      ...(params.NumSegments ? { numSegments: Number(params.NumSegments) } : {}),
      ...(params.FromCountry ? { fromCountry: params.FromCountry } : {})
    }
  }
}

/**
 * Twilio's message status as the hub's delivery status; undefined for states that say
 * nothing new (receiving, scheduled). `sending` is still queued from the customer's view.
 */
export const deliveryStatusOf = (
  status: string,
  errorCode: string | undefined
): DeliveryStatus | undefined => {
  switch (status) {
    case "accepted":
    case "queued":
    case "sending":
      return { _tag: "queued" }
    case "sent":
    case "partially_delivered":
      return { _tag: "sent" }
    case "delivered":
      return { _tag: "delivered" }
    case "read":
      return { _tag: "read" }
    case "undelivered":
    case "failed":
    case "canceled": {
      const code = errorCode && /^\d+$/.test(errorCode) ? Number(errorCode) : undefined
      const cls = classifyTwilioError(code)
      return {
        _tag: "failed",
        reason: status === "canceled" ? "canceled" : `${status}: ${cls.reason}`,
        ...(errorCode ? { code: errorCode } : {}),
        retryable: status !== "canceled" && cls.retryable
      }
    }
    default:
      return undefined
  }
}

/** The status update of a message status callback, or undefined when it moves nothing. */
export const statusUpdateOf = (
  channel: string,
  params: Readonly<Record<string, string>>,
  now: number
): StatusUpdateInput | undefined => {
  const sid = required(channel, params, "MessageSid")
  const status = required(channel, params, "MessageStatus")
  const delivery = deliveryStatusOf(status, params.ErrorCode)
  if (!delivery) return undefined
  return { channel, providerMessageId: sid, status: delivery, at: now }
}
