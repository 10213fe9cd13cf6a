import {
  type AdapterContext,
  type InboundEnvelopeInput,
  type IngestReceipt,
  isHookVetoed
} from "@dialogi/core"
import type { AttachmentStore } from "./AttachmentStore.js"
import { senderVerified } from "./authentication.js"
import type { ParsedEmail } from "./parse.js"
import { resolveThread, type ThreadKeys, toThreadingHint } from "./resolveThread.js"
import type { ThreadLedger } from "./ThreadLedger.js"

/** What turning a parsed mail into a hub message needs. */
export interface IngestDeps {
  readonly channel: string
  readonly keys: ThreadKeys
  readonly attachments: AttachmentStore
  readonly maxAttachmentBytes: number
  readonly ledger: ThreadLedger
  readonly trustedAuthServIds: ReadonlyArray<string>
  /** Called after a new (not duplicate) mail from a person is stored. */
  readonly onStored?: (parsed: ParsedEmail, receipt: IngestReceipt, repliesToUs: boolean) => Promise<void>
}

/**
 * The outcome of one mail: stored in a conversation, applied as a bounce to our sent mail, or
 * refused by an ingest hook (the hub recorded a `hook.ingest_vetoed` event; nothing was stored).
 * All three count as processed: the watcher moves past the mail and a webhook answers 200.
 */
export type MailOutcome =
  | { readonly kind: "stored"; readonly receipt: IngestReceipt }
  | { readonly kind: "bounce"; readonly originalMessageId: string }
  | { readonly kind: "vetoed"; readonly hook: string; readonly reason: string }

const isNotFound = (e: unknown) =>
  typeof e === "object" && e !== null && (e as { _tag?: unknown })._tag === "NotFound"

/**
 * Stores one parsed mail through the hub. Resolves only after the hub committed it, so the
 * caller may advance its cursor (IMAP) or answer 2xx (webhook) exactly then.
 */
export const ingestMail = async (
  deps: IngestDeps,
  context: AdapterContext,
  parsed: ParsedEmail
): Promise<MailOutcome> => {
  // A bounce of our own mail marks that mail failed instead of opening a conversation.
  const bounce = parsed.bounce
  if (bounce?.originalMessageId !== undefined && bounce.action !== "delayed") {
    const reason = [
      bounce.status,
      bounce.diagnostic ?? `delivery to ${bounce.recipient ?? "recipient"} failed`
    ]
      .filter(Boolean)
      .join(" ")
    const applied = await context
      .updateStatus({
        channel: deps.channel,
        providerMessageId: bounce.originalMessageId,
        status: {
          _tag: "failed",
          reason,
          retryable: false,
          ...(bounce.status ? { code: bounce.status } : {})
        },
        at: parsed.sentAt.getTime()
      })
      .then(
        () => true,
        (e: unknown) => {
          if (isNotFound(e)) return false
          throw e
        }
      )
    if (applied) return { kind: "bounce", originalMessageId: bounce.originalMessageId }
  }

  const resolution = resolveThread(parsed.thread, parsed.fullText, parsed.from.address, deps.keys)
  const threading = toThreadingHint(resolution)
  const parts: Array<InboundEnvelopeInput["parts"][number]> = []
  if (parsed.displayText.length > 0) parts.push({ _tag: "text", text: parsed.displayText })
  if (parsed.html !== undefined) parts.push({ _tag: "html", html: parsed.html })
  const skipped: Array<{ filename: string | undefined; size: number }> = []
  const written: Array<string> = []
  const keep = async (file: { filename: string | undefined; contentType: string; content: Uint8Array }) => {
    if (file.content.byteLength > deps.maxAttachmentBytes) {
      skipped.push({ filename: file.filename, size: file.content.byteLength })
      return undefined
    }
    const ref = await deps.attachments.put(file)
    written.push(ref)
    return ref
  }
  // The files go to the store before the hub decides; when no message ends up referring to them
  // (a veto, a duplicate, a refusal, a failed commit) they are removed again.
  const discardWritten = async () => {
    const remove = deps.attachments.delete
    if (remove === undefined) return
    for (const ref of written.splice(0))
      await remove(ref).catch((e: unknown) =>
        context.log("warn", `[dialogi/email] could not delete unused attachment ${ref}`, { error: String(e) })
      )
  }
  for (const file of parsed.attachments) {
    const ref = await keep(file)
    if (ref !== undefined)
      parts.push({
        _tag: "attachment",
        attachment: {
          ref,
          contentType: file.contentType,
          size: file.content.byteLength,
          ...(file.filename !== undefined ? { filename: file.filename } : {})
        }
      })
  }
  // The html as sent is kept for "show original" and audits; only the sanitized copy is shown.
  const originalHtmlRef =
    parsed.originalHtml === undefined
      ? undefined
      : await keep({
          filename: "original.html",
          contentType: "text/html",
          content: new TextEncoder().encode(parsed.originalHtml)
        })
  if (parts.length === 0) parts.push({ _tag: "text", text: parsed.subject || "(empty mail)" })

  const envelope: InboundEnvelopeInput = {
    channel: deps.channel,
    providerMessageId: parsed.messageId,
    from: {
      address: parsed.from.address,
      ...(parsed.from.name !== undefined ? { name: parsed.from.name.slice(0, 256) } : {}),
      verified: senderVerified(parsed.authenticationResults, parsed.from.address, deps.trustedAuthServIds)
    },
    parts,
    sentAt: parsed.sentAt.getTime(),
    ...(threading !== undefined ? { threading } : {}),
    metadata: {
      subject: parsed.subject,
      messageId: parsed.messageId,
      ...(parsed.syntheticMessageId ? { syntheticMessageId: true } : {}),
      automated: parsed.automated.length > 0,
      ...(parsed.automated.length > 0 ? { automatedReasons: parsed.automated } : {}),
      threadMatch: resolution.match.kind,
      threadReason: resolution.match.reason,
      ...(resolution.rejected.length > 0 ? { rejectedTokens: resolution.rejected } : {}),
      ...(parsed.fullText.trim() !== parsed.displayText ? { fullText: parsed.fullText } : {}),
      ...(originalHtmlRef !== undefined ? { originalHtmlRef } : {}),
      ...(skipped.length > 0 ? { skippedAttachments: skipped } : {})
    }
  }
  const receipt = await context.ingest(envelope).catch(async (e: unknown) => {
    // A veto is final and already recorded by the hub: were it thrown, the watcher would keep its
    // cursor before this mail, re-read it on every poll (recording the veto again each time) and
    // never reach the mail behind it.
    if (isHookVetoed(e)) return e
    await discardWritten()
    throw e
  })
  if (isHookVetoed(receipt)) {
    await discardWritten()
    return { kind: "vetoed", hook: receipt.hook, reason: receipt.reason }
  }
  // A duplicate keeps the files of the copy stored first.
  if (receipt.duplicate) await discardWritten()
  await deps.ledger.record(receipt.conversationId, parsed.messageId, parsed.subject, [
    ...parsed.thread.references,
    ...parsed.thread.inReplyTo
  ])
  const repliesToUs = resolution.match.kind !== "contact-open" && resolution.match.kind !== "references"
  if (!receipt.duplicate && deps.onStored) await deps.onStored(parsed, receipt, repliesToUs)
  return { kind: "stored", receipt }
}
