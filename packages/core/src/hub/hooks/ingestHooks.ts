import { Effect } from "effect"
import type { InboundEnvelope } from "../../adapter/InboundEnvelope.js"
import type { StoreError } from "../../domain/Errors.js"
import type { EventBody } from "../../domain/Event.js"
import type { IngestHook, IngestHookContext } from "../../hooks/Hook.js"
import { HookVetoed } from "../../hooks/HookErrors.js"
import { type HookOutcome, runHooks } from "../../hooks/runHooks.js"
import { findIdentity } from "../../store/rowLookups.js"
import type { StoreService } from "../../store/Store.js"
import type { IngestResult } from "../ingest/ingestOne.js"
import { type AfterConversationChange, enrichConversation } from "./enrichConversation.js"

/** Ingest with hooks: run before the envelope reaches the batcher, finished after it is stored. */
export interface IngestHooks {
  /**
   * Runs the hooks on a normalized envelope and ingests what they leave. A veto is recorded as a
   * `hook.ingest_vetoed` event and fails with {@link HookVetoed}; failing hooks are recorded after the
   * message is stored (`hook.ingest_failed`), as are tags and priority the hooks set.
   */
  readonly ingest: (
    envelope: InboundEnvelope,
    store: (envelope: InboundEnvelope) => Effect.Effect<IngestResult, StoreError>
  ) => Effect.Effect<IngestResult, HookVetoed | StoreError>
}

const contextOf = (envelope: InboundEnvelope, parts: IngestHookContext["parts"]): IngestHookContext => ({
  channel: envelope.channel,
  providerMessageId: envelope.providerMessageId,
  from: { address: envelope.from.address, name: envelope.from.name },
  parts,
  metadata: envelope.metadata
})

/** Builds the ingest side of the hooks; with no hooks it passes envelopes straight through. */
export const makeIngestHooks = (
  store: StoreService,
  hooks: ReadonlyArray<IngestHook>,
  afterConversationChange: AfterConversationChange
): IngestHooks => {
  if (hooks.length === 0) return { ingest: (envelope, next) => next(envelope) }

  // The envelope's facts are kept in the event (never its content: a veto is often about the
  // content), with the sender's contact when they are known, so the refusal shows on their record.
  const recordVeto = (envelope: InboundEnvelope, vetoed: NonNullable<HookOutcome["vetoed"]>) =>
    store.transaction((tx) =>
      Effect.gen(function* () {
        const sender = yield* findIdentity(tx, envelope.channel, envelope.from.address)
        yield* tx.appendEvents(
          [
            {
              _tag: "hook.ingest_vetoed",
              hook: vetoed.hook,
              reason: vetoed.reason,
              channel: envelope.channel,
              providerMessageId: envelope.providerMessageId,
              address: envelope.from.address,
              ...(sender === undefined ? {} : { senderContactId: sender.contactId })
            }
          ],
          new Date()
        )
      })
    )

  return {
    ingest: (envelope, next) =>
      Effect.gen(function* () {
        const outcome = yield* runHooks(
          hooks,
          envelope.parts,
          (parts) => contextOf(envelope, parts),
          "record"
        ).pipe(
          // "record" never fails; the type says it could only for "stop".
          Effect.catchAll((failure) => Effect.die(failure))
        )
        if (outcome.vetoed !== undefined) {
          yield* recordVeto(envelope, outcome.vetoed)
          return yield* new HookVetoed({ stage: "ingest", ...outcome.vetoed })
        }
        const result = yield* next(
          outcome.parts === envelope.parts ? envelope : { ...envelope, parts: outcome.parts }
        )
        // A provider retry of a stored message changes nothing, hooks' additions included.
        if (result.duplicate) return result
        const failures: EventBody[] = outcome.failures.map((f) => ({
          _tag: "hook.ingest_failed",
          conversationId: result.conversationId,
          messageId: result.messageId,
          hook: f.hook,
          message: f.message
        }))
        yield* enrichConversation(store, afterConversationChange, result.conversationId, outcome, failures)
        return result
      })
  }
}
