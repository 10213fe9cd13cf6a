import type { Effect } from "effect"
import { Schema } from "effect"
import type { Contact } from "../domain/Contact.js"
import { type Conversation, Priority } from "../domain/Conversation.js"
import { type Author, MessagePart } from "../domain/Message.js"

/**
 * What a hook decides. `undefined` (or `{ _tag: "continue" }` without fields) lets the message
 * through unchanged; `continue` with `parts` replaces its content (redaction), with `addTags` /
 * `priority` enriches its conversation; `veto` stops it with a reason that is recorded.
 */
export const HookResult = Schema.Union(
  Schema.Undefined,
  Schema.TaggedStruct("continue", {
    /** The message's new content; the next hook sees it. */
    parts: Schema.optional(Schema.Array(MessagePart).pipe(Schema.minItems(1))),
    /** Tags added to the conversation (existing tags stay). */
    addTags: Schema.optional(Schema.Array(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(100)))),
    /** The conversation's new priority; a later hook's priority wins. */
    priority: Schema.optional(Priority)
  }),
  Schema.TaggedStruct("veto", { reason: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(1000)) })
)
/** @see HookResult */
export type HookResult = typeof HookResult.Type

/**
 * A hook's body, in either form: an Effect (for Effect users), a Promise or a plain value. A
 * thrown exception, a rejected Promise, a failed Effect and a result that does not match
 * {@link HookResult} all count as the hook failing.
 */
export type HookRun<Context> = (
  context: Context
) => Effect.Effect<HookResult, unknown> | Promise<HookResult> | HookResult

/** What an ingest hook sees: the decoded inbound envelope, before anything is stored. */
export interface IngestHookContext {
  readonly channel: string
  readonly providerMessageId: string
  readonly from: { readonly address: string; readonly name?: string | undefined }
  /** The content as the previous hooks left it. */
  readonly parts: ReadonlyArray<MessagePart>
  readonly metadata: Readonly<Record<string, unknown>>
}

/** What a send hook sees: a reply before it is stored and queued. */
export interface SendHookContext {
  readonly conversation: Conversation
  readonly contact: Contact
  /**
   * The channel the reply goes out on: the one asked for, else the customer's last one;
   * undefined when no channel can take it (the reply is then refused after the hooks).
   */
  readonly channel: string | undefined
  readonly author: Author
  /** The content as the previous hooks left it. */
  readonly parts: ReadonlyArray<MessagePart>
}

/** A hook that runs on every inbound message before it is stored. */
export interface IngestHook {
  /** Names the hook in events, notes and errors. */
  readonly name: string
  readonly run: HookRun<IngestHookContext>
}

/** A hook that runs on every `reply` before it is stored and queued for sending. */
export interface SendHook {
  /** Names the hook in events, notes and errors. */
  readonly name: string
  readonly run: HookRun<SendHookContext>
}

/**
 * The hooks of a hub, each list run in order. Ingest: a veto stops the message (recorded as a
 * `hook.ingest_vetoed` event; `ingest` fails with `HookVetoed`); a failing hook is skipped and recorded
 * (`hook.ingest_failed`), the message is stored with what the other hooks made of it. Send: a veto or a
 * failure stops the reply (typed error, a system note on the conversation, nothing sent).
 */
export interface HookOptions {
  readonly ingest?: ReadonlyArray<IngestHook> | undefined
  readonly send?: ReadonlyArray<SendHook> | undefined
}
