import { Effect } from "effect"
import { InvalidInput, NotFound, type StoreError } from "../../domain/Errors.js"
import type { EventBody } from "../../domain/Event.js"
import { type ConversationId, newId } from "../../domain/Ids.js"
import { Callback, type CallbackState, callbackTransitions } from "../../routing/Callback.js"
import { CallbackStateConflict, RoutingNotFound } from "../../routing/RoutingErrors.js"
import type { StoreTx } from "../../store/Store.js"
import type { AdapterRegistry } from "../AdapterRegistry.js"
import { chooseOfferChannel, describeRefusals, type OfferChannel } from "./offerChannel.js"
import { type LogFn, lockConversations } from "./placement.js"
import { queueOutbound } from "./queueOutbound.js"
import type { ResolvedRoutingOptions } from "./RoutingOptions.js"

/** The deadline kind of callback windows. */
export const callbackKind = "callback"
const dueKey = (id: string) => `callback:${id}:due`
const endKey = (id: string) => `callback:${id}:end`

/** Schedules a callback: durable deadlines at the window's start (due) and end (missed if nobody called). */
export const scheduleCallback = (
  tx: StoreTx,
  conversationId: string,
  input: {
    readonly from: Date
    readonly to: Date
    readonly phone: string
    readonly note?: string | undefined
  },
  now: Date
): Effect.Effect<Callback, NotFound | InvalidInput | StoreError> =>
  Effect.gen(function* () {
    if (!(input.from.getTime() < input.to.getTime()))
      return yield* new InvalidInput({
        what: "callback.window",
        message: "the window must end after it starts"
      })
    if (input.to.getTime() <= now.getTime())
      return yield* new InvalidInput({ what: "callback.window", message: "the window is already over" })
    const [conversation] = yield* tx.getConversations([conversationId as ConversationId])
    if (conversation === undefined) return yield* new NotFound({ entity: "conversation", id: conversationId })
    const callback = new Callback({
      id: newId("cb"),
      conversationId: conversation.id,
      phone: input.phone,
      window: { from: input.from, to: input.to },
      note: input.note,
      state: "scheduled",
      scheduledAt: now,
      updatedAt: now
    })
    yield* tx.routing.insertCallback(callback)
    yield* tx.armDeadlines([
      {
        key: dueKey(callback.id),
        kind: callbackKind,
        dueAt: input.from,
        payload: { callbackId: callback.id, step: "due" }
      },
      {
        key: endKey(callback.id),
        kind: callbackKind,
        dueAt: input.to,
        payload: { callbackId: callback.id, step: "end" }
      }
    ])
    yield* tx.appendEvents(
      [
        {
          _tag: "callback.scheduled",
          conversationId: conversation.id,
          callbackId: callback.id,
          phone: callback.phone,
          windowFrom: input.from.getTime(),
          windowTo: input.to.getTime(),
          note: callback.note
        }
      ],
      now
    )
    return callback
  })

const eventFor = (c: Callback, to: CallbackState): EventBody | undefined => {
  const about = { conversationId: c.conversationId, callbackId: c.id }
  switch (to) {
    case "due":
      return { _tag: "callback.due", ...about }
    case "in_progress":
      return { _tag: "callback.in_progress", ...about, by: c.by ?? "" }
    case "completed":
      return { _tag: "callback.completed", ...about }
    case "missed":
      return { _tag: "callback.missed", ...about, reason: c.missedReason ?? "" }
    case "rebook_offered":
      return { _tag: "callback.rebook_offered", ...about, messageId: c.rebookMessageId ?? "", channel: "" }
    default:
      return undefined
  }
}

/**
 * Moves a callback along its state machine with its event; refused moves fail with
 * CallbackStateConflict and change nothing. The write is conditional on the state read, so
 * two instances cannot both make a move. `event: null` leaves the event to the caller, which
 * appends it later in the same transaction.
 */
export const moveCallback = (
  tx: StoreTx,
  callbackId: string,
  to: CallbackState,
  change: Partial<Pick<Callback, "by" | "missedReason" | "rebookMessageId">>,
  now: Date,
  event?: EventBody | null
): Effect.Effect<Callback, RoutingNotFound | CallbackStateConflict | StoreError> =>
  Effect.gen(function* () {
    yield* tx.lock([`callback:${callbackId}`])
    const current = yield* tx.routing.getCallback(callbackId)
    if (current === undefined) return yield* new RoutingNotFound({ entity: "callback", id: callbackId })
    if (!callbackTransitions[current.state].includes(to))
      return yield* new CallbackStateConflict({ callbackId, from: current.state, to })
    const next = new Callback({ ...current, ...change, state: to, updatedAt: now })
    if (!(yield* tx.routing.updateCallback(next, current.state)))
      return yield* new CallbackStateConflict({ callbackId, from: current.state, to })
    if (to === "completed" || to === "missed") {
      yield* tx.cancelDeadline(dueKey(callbackId))
      yield* tx.cancelDeadline(endKey(callbackId))
    }
    const body = event === null ? undefined : (event ?? eventFor(next, to))
    if (body) yield* tx.appendEvents([body], now)
    return next
  })

/**
 * Marks a callback missed and offers the customer a new window in writing (a message through
 * the normal durable send path): on their last channel, or, when that cannot carry the text (a
 * voicemail's voice channel), on SMS to the callback's number or their next reachable channel.
 * When every channel refuses, the callback stays missed and its `callback.missed` event says why.
 */
export const missCallback = (
  tx: StoreTx,
  registry: AdapterRegistry,
  options: ResolvedRoutingOptions,
  log: LogFn,
  callbackId: string,
  reason: string,
  now: Date
): Effect.Effect<Callback, RoutingNotFound | CallbackStateConflict | StoreError> =>
  Effect.gen(function* () {
    // The event waits for the channel choice, so that it can carry why no offer went out.
    const missed = yield* moveCallback(tx, callbackId, "missed", { missedReason: reason }, now, null)
    // The offer writes the conversation row (its last activity): locked as routing locks it.
    const [conversation] = yield* lockConversations(tx, [missed.conversationId])
    const contact = conversation ? yield* tx.getContact(conversation.contactId) : undefined
    const parts = [{ _tag: "text", text: options.rebookText(missed) }] as const
    const choice: OfferChannel =
      conversation === undefined || contact === undefined
        ? { ok: false, refusals: [{ _tag: "NoChannel", detail: "the conversation or its contact is gone" }] }
        : yield* chooseOfferChannel(tx, registry, conversation, contact, missed.phone, parts, now)
    const about = { conversationId: missed.conversationId, callbackId }
    const refused = choice.ok ? undefined : describeRefusals(choice.refusals)
    yield* tx.appendEvents(
      [
        {
          _tag: "callback.missed",
          ...about,
          reason,
          ...(refused === undefined ? {} : { offerRefused: refused })
        }
      ],
      now
    )
    if (!choice.ok || conversation === undefined) {
      log("warn", `callback ${callbackId}: could not offer a new window: ${refused}`, choice)
      return missed
    }
    const message = yield* queueOutbound(tx, conversation, choice.channel, parts, { _tag: "system" }, now)
    return yield* moveCallback(tx, callbackId, "rebook_offered", { rebookMessageId: message.id }, now, {
      _tag: "callback.rebook_offered",
      ...about,
      messageId: message.id,
      channel: message.channel
    })
  })

/** A callback deadline fired: the window opened (due) or closed (missed unless a call started). */
export const fireCallback = (
  tx: StoreTx,
  registry: AdapterRegistry,
  options: ResolvedRoutingOptions,
  log: LogFn,
  payload: Readonly<Record<string, unknown>>,
  now: Date
): Effect.Effect<void, StoreError> =>
  Effect.gen(function* () {
    const callbackId = String(payload.callbackId)
    const current = yield* tx.routing.getCallback(callbackId)
    if (current === undefined) return
    if (payload.step === "due" && current.state === "scheduled")
      yield* moveCallback(tx, callbackId, "due", {}, now)
    if (payload.step === "end" && (current.state === "scheduled" || current.state === "due"))
      yield* missCallback(tx, registry, options, log, callbackId, "window closed before anyone called", now)
  }).pipe(
    // A state another instance moved meanwhile is not a failure of this deadline.
    Effect.catchTags({ CallbackStateConflict: () => Effect.void, RoutingNotFound: () => Effect.void })
  )
