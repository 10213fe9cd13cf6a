import { createHash } from "node:crypto"
import type { AdapterContext, ChannelAdapter, SendRequest } from "@dialogi/core"
import type { ImapFlow } from "imapflow"
import nodemailer from "nodemailer"
import { type AttachmentStore, fileAttachmentStore } from "./AttachmentStore.js"
import { emailCapabilities } from "./capabilities.js"
import type { EmailAdapterConfig, ImapAccountConfig } from "./config.js"
import type { HealthEvent } from "./health.js"
import { type MailboxWatcher, openClient, watchMailbox } from "./ImapWatcher.js"
import { type IngestDeps, ingestMail, type MailOutcome } from "./ingestMail.js"
import { memoryKeyValueStore } from "./KeyValueStore.js"
import { EmailParseError, type ParsedEmail, parseEmail } from "./parse.js"
import { sendEmail } from "./send.js"
import { makeThreadLedger } from "./ThreadLedger.js"
import { formatMessageId, makeThreadSigner } from "./ThreadToken.js"
import { signatureHeader, verifyRawMail } from "./webhook.js"

/** A mail that could not be stored, kept with its reason so nothing is silently dropped. */
export interface QuarantinedMail {
  readonly at: number
  readonly reason: string
  readonly source: string
  /** SHA-256 of the raw mail (hex): the same mail read again (a backfill) is listed once. */
  readonly sha256?: string
  /** The raw mail in the attachment store, when it was small enough to keep. */
  readonly rawRef?: string
}

/** Options for {@link EmailAdapter.backfill}. */
export interface BackfillOptions {
  /** Mailbox to read; default the account's first. */
  readonly mailbox?: string
  /** Which account (index into `imap`); default 0. */
  readonly account?: number
  /** Only mail the server received on or after this day (IMAP SINCE has day granularity). */
  readonly since?: Date
  /** Only mail with a UID at or above this. */
  readonly fromUid?: number
}

/** The email adapter: a {@link ChannelAdapter} plus email-only operations. */
export interface EmailAdapter extends ChannelAdapter {
  /** Ingests one raw RFC 5322 mail (an MTA pipe, a test); resolves after the hub committed it. */
  readonly ingestRaw: (
    raw: Uint8Array,
    source?: string
  ) => Promise<MailOutcome | { kind: "quarantined"; reason: string }>
  /**
   * Re-reads mail already behind the cursor (after a restore, or to import history) without
   * moving the cursor; the hub dedupes on Message-ID, so mail already stored stays single.
   * `vetoed` counts mail an ingest hook refused (each recorded by the hub as `hook.ingest_vetoed`).
   */
  readonly backfill: (
    options?: BackfillOptions
  ) => Promise<{ seen: number; stored: number; quarantined: number; vetoed: number }>
  /** The mails that could not be stored, newest last. */
  readonly quarantined: () => Promise<ReadonlyArray<QuarantinedMail>>
  /** Asks every watched mailbox to sync now (also happens on IDLE and on the poll timer). */
  readonly syncNow: () => void
}

const isTransient = (e: unknown) => {
  const tag = typeof e === "object" && e !== null ? (e as { _tag?: unknown })._tag : undefined
  // Input the hub refuses will be refused forever: quarantine it instead of blocking the mailbox.
  return tag !== "InvalidInput" && tag !== "InvalidAddress"
}

/**
 * Creates the email adapter: IMAP in (IDLE with a catch-up poll, one cursor per mailbox),
 * SMTP out, signed threading tokens, automated-mail guard and optional auto-acknowledgement.
 */
export const createEmailAdapter = (config: EmailAdapterConfig): EmailAdapter => {
  const channel = "email"
  const address = config.address.trim().toLowerCase()
  const domain = config.messageIdDomain ?? address.slice(address.lastIndexOf("@") + 1)
  const signer = makeThreadSigner(config.threadingSecret)
  const state = config.state ?? memoryKeyValueStore()
  const attachments: AttachmentStore =
    config.attachments?.store ?? fileAttachmentStore("./dialogi-attachments")
  const ledger = makeThreadLedger(state)
  const accounts: ReadonlyArray<ImapAccountConfig> =
    config.imap === undefined
      ? []
      : Array.isArray(config.imap)
        ? (config.imap as ReadonlyArray<ImapAccountConfig>)
        : [config.imap as ImapAccountConfig]
  const transport = nodemailer.createTransport({
    host: config.smtp.host,
    port: config.smtp.port,
    secure: config.smtp.secure ?? false,
    ...(config.smtp.auth ? { auth: { user: config.smtp.auth.user, pass: config.smtp.auth.pass } } : {}),
    requireTLS: config.smtp.requireTLS ?? true,
    ignoreTLS: config.smtp.ignoreTLS ?? false
  })
  const sendDeps = {
    channel,
    transport,
    signer,
    address,
    fromName: config.fromName,
    messageIdDomain: domain,
    ledger,
    attachments,
    defaultSubject: config.fromName ? `Your message to ${config.fromName}` : "Your message"
  }
  const onHealth = (event: HealthEvent) => config.onHealth?.(event)
  let context: AdapterContext | undefined
  let watchers: Array<MailboxWatcher> = []
  const lastAck = new Map<string, number>()
  let quarantineWrites: Promise<unknown> = Promise.resolve()

  const autoAcknowledge = async (
    parsed: ParsedEmail,
    receipt: { messageId: string; conversationId: string },
    repliesToUs: boolean
  ) => {
    const ack = config.autoAcknowledge
    // RFC 3834 5: never answer automated mail; and a reply in a running thread needs no receipt.
    if (!ack || repliesToUs || parsed.automated.length > 0) return
    const to = parsed.from.address.toLowerCase()
    const now = Date.now()
    if (now - (lastAck.get(to) ?? 0) < (ack.perSenderIntervalMs ?? 24 * 3600_000)) return
    lastAck.set(to, now)
    const messageId = formatMessageId(signer, {
      messageId: `ack_${receipt.messageId}`,
      conversationId: receipt.conversationId,
      recipient: to,
      domain
    })
    await transport
      .sendMail({
        from: config.fromName ? { name: config.fromName, address } : address,
        to,
        subject: `${ack.subjectPrefix ?? "Re: "}${parsed.subject}`,
        messageId: `<${messageId}>`,
        inReplyTo: `<${parsed.messageId}>`,
        references: [...parsed.thread.references, parsed.messageId].map((id) => `<${id}>`),
        text: ack.text,
        headers: {
          "Auto-Submitted": "auto-replied",
          "X-Auto-Response-Suppress": "OOF, AutoReply",
          "X-Loop": address
        }
      })
      .catch((e: unknown) =>
        context?.log("warn", "[dialogi/email] auto-acknowledgement failed", { error: String(e) })
      )
  }

  const ingestDeps: IngestDeps = {
    channel,
    keys: { signer, mailboxes: [address] },
    attachments,
    maxAttachmentBytes: config.attachments?.maxBytes ?? 10 * 1024 * 1024,
    ledger,
    trustedAuthServIds: config.trustedAuthServIds ?? [],
    onStored: autoAcknowledge
  }

  const quarantine = async (raw: Uint8Array, source: string, reason: string) => {
    const sha256 = createHash("sha256").update(raw).digest("hex")
    // Appends are chained: two mailboxes quarantining at once must not overwrite each other.
    const append = quarantineWrites.then(async () => {
      const list = JSON.parse((await state.get("quarantine")) ?? "[]") as Array<QuarantinedMail>
      if (list.some((q) => q.sha256 === sha256)) return
      const rawRef =
        raw.byteLength <= (config.maxMessageBytes ?? 25 * 1024 * 1024)
          ? await attachments.put({
              filename: "quarantined.eml",
              contentType: "message/rfc822",
              content: raw
            })
          : undefined
      const entry: QuarantinedMail = { at: Date.now(), reason, source, sha256, ...(rawRef ? { rawRef } : {}) }
      await state.set("quarantine", JSON.stringify([...list, entry].slice(-1000)))
    })
    quarantineWrites = append.catch(() => undefined)
    await append
    context?.log("warn", `[dialogi/email] quarantined mail from ${source}: ${reason}`)
  }

  const ingestRaw: EmailAdapter["ingestRaw"] = async (raw, source = "ingestRaw") => {
    if (!context) throw new Error("[dialogi/email] adapter not started: add it to a hub first")
    const ctx = context
    const parsed = await parseEmail(
      raw,
      config.maxMessageBytes !== undefined ? { maxMessageBytes: config.maxMessageBytes } : {}
    ).catch((e: unknown) => e as Error)
    if (parsed instanceof Error) {
      if (!(parsed instanceof EmailParseError)) throw parsed
      await quarantine(raw, source, parsed.message)
      return { kind: "quarantined", reason: parsed.message }
    }
    try {
      return await ingestMail(ingestDeps, ctx, parsed)
    } catch (e) {
      if (isTransient(e)) throw e
      const reason = `[dialogi/email] hub refused mail: ${String((e as { message?: unknown }).message ?? e)}`
      await quarantine(raw, source, reason)
      return { kind: "quarantined", reason }
    }
  }

  const handleWebhook = async (request: Request): Promise<Response> => {
    const json = (status: number, body: unknown) =>
      new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } })
    if (config.webhookSecret === undefined)
      return json(404, { error: "[dialogi/email] raw mail webhook not enabled" })
    if (request.method !== "POST") return json(405, { error: "POST raw message/rfc822" })
    const raw = new Uint8Array(await request.arrayBuffer())
    if (!verifyRawMail(config.webhookSecret, raw, request.headers.get(signatureHeader)))
      return json(403, { error: "[dialogi/email] invalid or expired signature" })
    if (!context) return json(503, { error: "[dialogi/email] hub not started" })
    try {
      const outcome = await ingestRaw(raw, "webhook")
      // A mail we quarantined is kept (with its raw bytes), and a vetoed one is recorded by the hub:
      // either way the sender must not retry it.
      return json(200, outcome)
    } catch (e) {
      return json(503, { error: `[dialogi/email] not stored, retry later: ${String(e)}` })
    }
  }

  const backfill: EmailAdapter["backfill"] = async (options = {}) => {
    const account = accounts[options.account ?? 0]
    if (!account) throw new Error("[dialogi/email] backfill needs an imap account")
    const mailbox = options.mailbox ?? account.mailboxes?.[0] ?? "INBOX"
    const client: ImapFlow = openClient(account, false)
    client.on("error", () => undefined)
    let seen = 0
    let stored = 0
    let quarantinedCount = 0
    let vetoed = 0
    await client.connect()
    try {
      const lock = await client.getMailboxLock(mailbox)
      try {
        const query = {
          ...(options.since ? { since: options.since } : {}),
          ...(options.fromUid ? { uid: `${options.fromUid}:*` } : {})
        }
        const uids = (
          (await client.search(Object.keys(query).length > 0 ? query : { all: true }, { uid: true })) || []
        ).filter((uid) => uid >= (options.fromUid ?? 0))
        for (let i = 0; i < uids.length; i += 50) {
          const batch: Array<{ uid: number; source: Uint8Array }> = []
          for await (const m of client.fetch(
            uids.slice(i, i + 50).join(","),
            { uid: true, source: true },
            { uid: true }
          ))
            if (m.source) batch.push({ uid: m.uid, source: m.source })
          for (const m of batch.sort((a, b) => a.uid - b.uid)) {
            seen += 1
            const outcome = await ingestRaw(m.source, `${mailbox}#${m.uid}`)
            if (outcome.kind === "quarantined") quarantinedCount += 1
            else if (outcome.kind === "vetoed") vetoed += 1
            else if (outcome.kind === "bounce" || !outcome.receipt.duplicate) stored += 1
          }
        }
      } finally {
        lock.release()
      }
    } finally {
      await client.logout().catch(() => client.close())
    }
    return { seen, stored, quarantined: quarantinedCount, vetoed }
  }

  return {
    channel,
    capabilities: emailCapabilities,
    addressKind: "email",
    start: async (ctx) => {
      context = ctx
      watchers = accounts.flatMap((account) =>
        (account.mailboxes ?? ["INBOX"]).map((mailbox) =>
          watchMailbox({
            account,
            mailbox,
            state,
            onHealth,
            log: ctx.log,
            handle: async (raw, at) => {
              const outcome = await ingestRaw(raw, `${at.mailbox}#${at.uidValidity}/${at.uid}`)
              if (outcome.kind === "quarantined")
                onHealth({ kind: "quarantined", mailbox: at.mailbox, uid: at.uid, reason: outcome.reason })
            }
          })
        )
      )
    },
    stop: async () => {
      await Promise.all(watchers.map((w) => w.stop()))
      watchers = []
      transport.close()
    },
    send: (request: SendRequest) => sendEmail(sendDeps, request),
    handleWebhook,
    ingestRaw,
    backfill,
    quarantined: async () => JSON.parse((await state.get("quarantine")) ?? "[]") as Array<QuarantinedMail>,
    syncNow: () => {
      for (const w of watchers) w.syncNow()
    }
  }
}
