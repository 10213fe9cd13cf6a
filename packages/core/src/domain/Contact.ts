import { Schema } from "effect"
import { ChannelName, ContactId } from "./Ids.js"

/**
 * One address of a contact on one channel: an email address, an E.164 phone number, a
 * Messenger PSID (scoped to its page), a chat visitor id. `verified` means the channel or the
 * host proved that the contact controls it (DKIM, a signed chat identity, an inbound call).
 */
export class Identity extends Schema.Class<Identity>("@dialogi/Identity")({
  channel: ChannelName,
  address: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(512)),
  verified: Schema.Boolean
}) {}

/** A person, with every identity that is known to be theirs. */
export class Contact extends Schema.Class<Contact>("@dialogi/Contact")({
  id: ContactId,
  name: Schema.optional(Schema.String),
  attributes: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  identities: Schema.Array(Identity),
  /** Set when this contact was merged into another one; the merge can be undone. */
  mergedInto: Schema.optional(ContactId),
  createdAt: Schema.DateFromNumber
}) {}
