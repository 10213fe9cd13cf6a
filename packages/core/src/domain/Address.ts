import { Effect } from "effect"
import { type CountryCode, parsePhoneNumberFromString } from "libphonenumber-js/max"
import { InvalidAddress } from "./Errors.js"

/** How an address on a channel is compared: by normalized form. */
export type AddressKind = "email" | "phone" | "opaque"

/** Options for {@link normalizeAddress}. */
export interface NormalizeOptions {
  /** Region used for phone numbers written without a country code ("040 1234567"). */
  readonly defaultRegion?: string | undefined
}

// Domains are case-insensitive (RFC 5321 2.4); local parts formally are not, but every
// mailbox provider treats them so, and two tickets for "Anna@" and "anna@" help nobody.
const normalizeEmail = (channel: string, raw: string): Effect.Effect<string, InvalidAddress> => {
  const trimmed = raw.trim().replace(/^mailto:/i, "")
  const angle = /<([^<>]+)>\s*$/.exec(trimmed)
  const address = (angle ? angle[1]! : trimmed).trim().toLowerCase()
  return /^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/.test(address)
    ? Effect.succeed(address)
    : Effect.fail(new InvalidAddress({ channel, address: raw, message: "not an email address" }))
}

const normalizePhone = (
  channel: string,
  raw: string,
  options: NormalizeOptions
): Effect.Effect<string, InvalidAddress> => {
  const cleaned = raw.trim().replace(/^(tel:|sms:|whatsapp:)/i, "")
  const parsed = parsePhoneNumberFromString(cleaned, options.defaultRegion as CountryCode | undefined)
  return parsed?.isPossible()
    ? Effect.succeed(parsed.number)
    : Effect.fail(
        new InvalidAddress({
          channel,
          address: raw,
          message: options.defaultRegion
            ? `not a phone number for region ${options.defaultRegion}`
            : "not an E.164 phone number (set defaultRegion for national numbers)"
        })
      )
}

/**
 * The channel kinds whose addresses need normalizing. Anything else (a Messenger PSID, a
 * chat visitor id) is opaque and compared exactly.
 */
export const defaultAddressKinds: Readonly<Record<string, AddressKind>> = {
  email: "email",
  sms: "phone",
  voice: "phone",
  phone: "phone",
  whatsapp: "phone"
}

/**
 * Normalizes an address for matching: emails lower-cased without display names, phone numbers
 * to E.164, so "+358 40 123 4567" and "040 1234567" (region FI) are the same identity.
 */
export const normalizeAddress = (
  kind: AddressKind,
  channel: string,
  raw: string,
  options: NormalizeOptions = {}
): Effect.Effect<string, InvalidAddress> => {
  switch (kind) {
    case "email":
      return normalizeEmail(channel, raw)
    case "phone":
      return normalizePhone(channel, raw, options)
    case "opaque": {
      const trimmed = raw.trim()
      return trimmed.length > 0 && trimmed.length <= 512
        ? Effect.succeed(trimmed)
        : Effect.fail(
            new InvalidAddress({ channel, address: raw, message: "empty or longer than 512 characters" })
          )
    }
  }
}
