import type { AttachmentStore } from "./AttachmentStore.js"
import type { HealthEvent } from "./health.js"
import type { KeyValueStore } from "./KeyValueStore.js"

/** What happens to a processed mail in the mailbox; see {@link ImapAccountConfig.afterIngest}. */
export type AfterIngest = "none" | "seen" | { readonly moveTo: string; readonly seen?: boolean }

/** One IMAP account to read from; each of its mailboxes gets its own cursor and connection. */
export interface ImapAccountConfig {
  readonly host: string
  readonly port: number
  /** Implicit TLS (993); false for STARTTLS or plain (tests). Default true. */
  readonly secure?: boolean
  readonly auth: { readonly user: string; readonly pass: string }
  /** Mailboxes to watch; default `["INBOX"]`. */
  readonly mailboxes?: ReadonlyArray<string>
  /**
   * Catch-up poll interval in ms (default 60 s). Runs even while IDLE works: IDLE can stop
   * delivering EXISTS silently, and servers without IDLE rely on it alone.
   */
  readonly pollIntervalMs?: number
  /** imapflow `autoIdleDelay`: how soon IDLE starts after a command (default 1 s). */
  readonly idleDelayMs?: number
  /** Restart IDLE this often (default 5 min): NATs and servers drop long-idle sessions. */
  readonly maxIdleTimeMs?: number
  /** Reconnect backoff; doubles from `initialMs` to `maxMs` (defaults 1 s and 60 s). */
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number }
  /**
   * What to do with a mail once it is processed (stored, applied as a bounce, vetoed by a hook,
   * or quarantined; always after the hub committed and the cursor moved past it): leave it
   * (default), flag it \Seen, or move it to a folder (created if missing), optionally flagging it
   * \Seen first. Moved mail can still be re-read with `backfill({ mailbox })`.
   */
  readonly afterIngest?: AfterIngest
  /**
   * Mails fetched per round trip (default 50), and handed to the hub at once (a sender's mails
   * one after another): bounds memory during a large backlog.
   */
  readonly batchSize?: number
}

/** How outbound mail leaves: nodemailer SMTP transport options. */
export interface SmtpConfig {
  readonly host: string
  readonly port: number
  readonly secure?: boolean
  readonly auth?: { readonly user: string; readonly pass: string }
  /** Refuse to send over an unencrypted connection unless false (tests on loopback). */
  readonly requireTLS?: boolean
  readonly ignoreTLS?: boolean
}

/** Options for {@link createEmailAdapter}. */
export interface EmailAdapterConfig {
  /** The support address: From of every reply and base of the signed reply addresses. */
  readonly address: string
  /** Display name on outbound mail, e.g. "Acme Support". */
  readonly fromName?: string
  /** Domain of our Message-IDs; default the domain of `address`. */
  readonly messageIdDomain?: string
  /**
   * Secret(s) for the HMAC in our Message-IDs, reply addresses and body markers. The first
   * signs, all verify (rotation). Keep it stable: changing it orphans replies to earlier mail.
   */
  readonly threadingSecret: string | ReadonlyArray<string>
  /** IMAP accounts to read; omit for an adapter that only sends and takes raw mail by webhook. */
  readonly imap?: ImapAccountConfig | ReadonlyArray<ImapAccountConfig>
  readonly smtp: SmtpConfig
  /**
   * Shared secret for `handleWebhook`, which takes raw message/rfc822 from an MTA pipe or an
   * inbound-mail service. Without it the webhook answers 404.
   */
  readonly webhookSecret?: string
  /** Where attachments go (default: files under `./dialogi-attachments`) and the size limit. */
  readonly attachments?: { readonly store?: AttachmentStore; readonly maxBytes?: number }
  /** Largest raw mail accepted (default 25 MiB); larger ones are quarantined. */
  readonly maxMessageBytes?: number
  /** Adapter state: IMAP cursors, thread headers for replies, quarantine. Default in memory. */
  readonly state?: KeyValueStore
  /**
   * An automatic acknowledgement for new mail from people (never for automated mail),
   * at most one per sender per `perSenderIntervalMs` (default 24 h).
   */
  readonly autoAcknowledge?: {
    readonly text: string
    readonly subjectPrefix?: string
    readonly perSenderIntervalMs?: number
  }
  /**
   * authserv-ids (the first token of Authentication-Results) added by your own MTA. Only their
   * DMARC/DKIM passes mark a sender address verified; anyone can write that header themselves.
   */
  readonly trustedAuthServIds?: ReadonlyArray<string>
  /** Connection health of each mailbox, for monitoring. */
  readonly onHealth?: (event: HealthEvent) => void
}
