import { Effect } from "effect"
import type { Contact } from "../../domain/Contact.js"
import type { Conversation } from "../../domain/Conversation.js"
import type { StoreError } from "../../domain/Errors.js"
import type { EventBody } from "../../domain/Event.js"
import type { ConversationId } from "../../domain/Ids.js"
import type { Author, MessagePart } from "../../domain/Message.js"
import type { SendHook } from "../../hooks/Hook.js"
import { HookFailed, HookVetoed } from "../../hooks/HookErrors.js"
import { type HookOutcome, runHooks } from "../../hooks/runHooks.js"
import type { StoreService, StoreTx } from "../../store/Store.js"
import { type AfterConversationChange, enrichConversation } from "./enrichConversation.js"

/** Reply with hooks: run before the reply's transaction, enrichment after it. */
export interface SendHooks {
  /**
   * Runs the hooks on a reply's parts. A veto or a failing hook records a system note and a
   * `hook.send_vetoed` / `hook.send_failed` event, and fails the reply (fail closed: nothing is stored as
   * a reply, nothing is sent).
   */
  readonly before: <E>(
    conversationId: string,
    parts: ReadonlyArray<MessagePart>,
    channel: string | undefined,
    author: Author,
    load: (
      conversationId: string
    ) => Effect.Effect<{ conversation: Conversation; contact: Contact }, E | StoreError>
  ) => Effect.Effect<HookOutcome, E | HookVetoed | HookFailed | StoreError>
  /** Applies the tags and priority the hooks set, after the reply committed. */
  readonly after: (conversationId: ConversationId, outcome: HookOutcome) => Effect.Effect<void, StoreError>
}

const untouched = (parts: ReadonlyArray<MessagePart>): HookOutcome => ({
  parts,
  addTags: [],
  priority: undefined,
  changedBy: [],
  vetoed: undefined,
  failures: []
})

/** Builds the send side of the hooks; with no hooks replies pass straight through. */
export const makeSendHooks = (
  store: StoreService,
  hooks: ReadonlyArray<SendHook>,
  afterConversationChange: AfterConversationChange,
  writeNote: (tx: StoreTx, conversation: Conversation, text: string) => Effect.Effect<void, StoreError>
): SendHooks => {
  const record = (conversation: Conversation, note: string, event: EventBody) =>
    store.transaction((tx) =>
      Effect.gen(function* () {
        yield* writeNote(tx, conversation, note)
        yield* tx.appendEvents([event], new Date())
      })
    )

  return {
    before: (conversationId, parts, channelOption, author, load) =>
      hooks.length === 0
        ? Effect.succeed(untouched(parts))
        : Effect.gen(function* () {
            const { conversation, contact } = yield* load(conversationId)
            const channel = channelOption ?? conversation.lastInboundChannel
            const outcome = yield* runHooks(
              hooks,
              parts,
              (current) => ({ conversation, contact, channel, author, parts: current }),
              "stop"
            ).pipe(
              Effect.catchAll((failure) =>
                Effect.zipRight(
                  record(conversation, `Reply not sent: hook "${failure.hook}" failed: ${failure.message}`, {
                    _tag: "hook.send_failed",
                    conversationId: conversation.id,
                    hook: failure.hook,
                    message: failure.message
                  }),
                  Effect.fail(new HookFailed({ stage: "send", hook: failure.hook, message: failure.message }))
                )
              )
            )
            if (outcome.vetoed !== undefined) {
              const { hook, reason } = outcome.vetoed
              yield* record(conversation, `Reply not sent: vetoed by hook "${hook}": ${reason}`, {
                _tag: "hook.send_vetoed",
                conversationId: conversation.id,
                hook,
                reason,
                ...(channel === undefined ? {} : { channel })
              })
              return yield* new HookVetoed({ stage: "send", hook, reason })
            }
            return outcome
          }),
    after: (conversationId, outcome) =>
      enrichConversation(store, afterConversationChange, conversationId, outcome, [])
  }
}
