import { Effect, Schema } from "effect"
import type { InvalidAddress, InvalidInput, NotFound, StoreError } from "../../domain/Errors.js"
import type { ConversationId } from "../../domain/Ids.js"
import { type Callback, CallbackRequest } from "../../routing/Callback.js"
import { type CallbackStateConflict, RoutingNotFound } from "../../routing/RoutingErrors.js"
import { missCallback, moveCallback, scheduleCallback } from "./callbacks.js"
import { requireParticipant } from "./RoutingAdmin.js"
import { invalidInput, type RoutingContext } from "./RoutingContext.js"

/** Callbacks in a window the customer picked. */
export interface CallbackApi {
  /** Schedules a callback; durable deadlines make it due at the window's start and missed after its end. */
  readonly schedule: (
    conversationId: string,
    request: CallbackRequest
  ) => Effect.Effect<Callback, InvalidInput | InvalidAddress | NotFound | StoreError>
  /** An agent starts the call (due -> in_progress). */
  readonly start: (
    callbackId: string,
    participantId: string
  ) => Effect.Effect<Callback, RoutingNotFound | CallbackStateConflict | StoreError>
  /** The call happened (in_progress -> completed). */
  readonly complete: (
    callbackId: string
  ) => Effect.Effect<Callback, RoutingNotFound | CallbackStateConflict | StoreError>
  /** The call failed (no answer, say): missed, then a new window is offered on the customer's last channel. */
  readonly miss: (
    callbackId: string,
    reason: string
  ) => Effect.Effect<Callback, RoutingNotFound | CallbackStateConflict | StoreError>
  readonly get: (callbackId: string) => Effect.Effect<Callback, RoutingNotFound | StoreError>
  /** A conversation's callbacks by window start. */
  readonly list: (conversationId: string) => Effect.Effect<ReadonlyArray<Callback>, StoreError>
}

/** `hub.callbacks`. */
export const makeCallbackApi = (ctx: RoutingContext): CallbackApi => {
  const { store, registry, options, log } = ctx
  const tx = ctx.transaction
  return {
    schedule: (conversationId, raw) =>
      Effect.gen(function* () {
        const request = yield* Schema.decodeUnknown(CallbackRequest)(raw).pipe(
          Effect.mapError(invalidInput("callback"))
        )
        const phone = yield* registry.normalize("voice", request.phone)
        return yield* tx((t) =>
          scheduleCallback(
            t,
            conversationId,
            { from: request.window.from, to: request.window.to, phone, note: request.note },
            new Date()
          )
        )
      }),
    start: (callbackId, participantId) =>
      tx((t) =>
        Effect.flatMap(requireParticipant(t, participantId), () =>
          moveCallback(t, callbackId, "in_progress", { by: participantId }, new Date())
        )
      ),
    complete: (callbackId) => tx((t) => moveCallback(t, callbackId, "completed", {}, new Date())),
    miss: (callbackId, reason) =>
      tx((t) => missCallback(t, registry, options, log, callbackId, reason, new Date())),
    get: (callbackId) =>
      store.read((t) =>
        Effect.flatMap(t.routing.getCallback(callbackId), (c) =>
          c ? Effect.succeed(c) : Effect.fail(new RoutingNotFound({ entity: "callback", id: callbackId }))
        )
      ),
    list: (conversationId) => store.read((t) => t.routing.listCallbacks(conversationId as ConversationId))
  }
}
