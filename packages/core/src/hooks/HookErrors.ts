import { Schema } from "effect"

/** Where a hook ran. */
export const HookStage = Schema.Literal("ingest", "send")
/** @see HookStage */
export type HookStage = typeof HookStage.Type

/**
 * A hook vetoed the message. The veto is recorded (ingest: a `hook.ingest_vetoed` event; send: a system
 * note on the conversation and the event); nothing was stored as a message and nothing was sent.
 */
export class HookVetoed extends Schema.TaggedError<HookVetoed>("@dialogi/HookVetoed")("HookVetoed", {
  stage: HookStage,
  hook: Schema.String,
  reason: Schema.String
}) {}

/**
 * A send hook failed (threw, rejected, failed or returned something that is not a HookResult):
 * the reply fails closed, nothing was stored or sent, and a system note records it.
 */
export class HookFailed extends Schema.TaggedError<HookFailed>("@dialogi/HookFailed")("HookFailed", {
  stage: HookStage,
  hook: Schema.String,
  message: Schema.String
}) {}

/**
 * Whether `error` is a {@link HookVetoed}: adapters use it to answer their provider with success,
 * because the hub already recorded the refusal and a provider retry would only be vetoed (and
 * recorded) again. Checks the tag rather than the class so that an error from another copy of
 * `@dialogi/core` (ESM next to CJS, two installed versions) is still recognised.
 */
export const isHookVetoed = (error: unknown): error is HookVetoed =>
  typeof error === "object" && error !== null && (error as { _tag?: unknown })._tag === "HookVetoed"
