import { Effect } from "effect"
import { Conversation } from "../../domain/Conversation.js"
import type { StoreError } from "../../domain/Errors.js"
import type { EventBody } from "../../domain/Event.js"
import type { ConversationId } from "../../domain/Ids.js"
import type { HookOutcome } from "../../hooks/runHooks.js"
import { getConversation } from "../../store/rowLookups.js"
import type { StoreService, StoreTx } from "../../store/Store.js"
import { lockConversations } from "../routing/placement.js"

/** Routing's reaction to a conversation change (a new priority re-sorts its queue entry). */
export type AfterConversationChange = (
  tx: StoreTx,
  before: Conversation,
  after: Conversation,
  now: Date
) => Effect.Effect<void, StoreError>

/**
 * Applies what hooks added to a conversation (tags, priority) and appends `extra` events, in one
 * transaction after the message itself committed. Nothing is written when there is nothing to do.
 */
export const enrichConversation = (
  store: StoreService,
  afterConversationChange: AfterConversationChange,
  conversationId: ConversationId,
  outcome: Pick<HookOutcome, "addTags" | "priority" | "changedBy">,
  extra: ReadonlyArray<EventBody>
): Effect.Effect<void, StoreError> => {
  const enriches = outcome.addTags.length > 0 || outcome.priority !== undefined
  if (!enriches && extra.length === 0) return Effect.void
  const changes = (c: Conversation) =>
    outcome.addTags.some((t) => !c.tags.includes(t)) ||
    (outcome.priority !== undefined && outcome.priority !== c.priority)
  // A hook that tags every message mostly re-adds tags the conversation has: a plain read
  // settles that without a transaction and its lock.
  const needed =
    extra.length > 0
      ? Effect.succeed(true)
      : Effect.map(
          store.read((tx) => getConversation(tx, conversationId)),
          (c) => c !== undefined && changes(c)
        )
  const write = store.transaction((tx) =>
    Effect.gen(function* () {
      const now = new Date()
      const events: EventBody[] = [...extra]
      if (enriches) {
        // Whole-row write: hold the conversation and its contact, which ingest holds.
        yield* lockConversations(tx, [conversationId])
        const current = yield* getConversation(tx, conversationId)
        if (current !== undefined) {
          const addedTags = outcome.addTags.filter((t) => !current.tags.includes(t))
          const priority =
            outcome.priority !== undefined && outcome.priority !== current.priority
              ? outcome.priority
              : undefined
          if (addedTags.length > 0 || priority !== undefined) {
            const updated = new Conversation({
              ...current,
              tags: [...current.tags, ...addedTags],
              priority: priority ?? current.priority,
              updatedAt: now
            })
            yield* tx.updateConversations([updated])
            yield* afterConversationChange(tx, current, updated, now)
            events.push({
              _tag: "conversation.enriched",
              conversationId,
              hooks: outcome.changedBy,
              addedTags,
              ...(priority === undefined ? {} : { priority: { from: current.priority, to: priority } })
            })
          }
        }
      }
      if (events.length > 0) yield* tx.appendEvents(events, now)
    })
  )
  return Effect.flatMap(needed, (yes) => (yes ? write : Effect.void))
}
