import { Effect, Schema } from "effect"
import type { InvalidInput, NotFound, StoreError } from "../../domain/Errors.js"
import type { ConversationId } from "../../domain/Ids.js"
import { type Handoff, HandoffRequest } from "../../routing/Handoff.js"
import {
  type AtCapacity,
  type HandoffAlreadyPending,
  type HandoffNotPending,
  type NotPermitted,
  RoutingNotFound
} from "../../routing/RoutingErrors.js"
import { acceptHandoff, declineHandoff, requestHandoff } from "./handoffs.js"
import { invalidInput, type RoutingContext } from "./RoutingContext.js"

/** Deciding on handoffs. */
export interface HandoffApi {
  /** The participant takes the conversation; of concurrent accepts exactly one wins. */
  readonly accept: (
    handoffId: string,
    participantId: string
  ) => Effect.Effect<
    Handoff,
    RoutingNotFound | HandoffNotPending | NotPermitted | AtCapacity | NotFound | StoreError
  >
  /** The participant declines; the conversation is routed again without them. */
  readonly decline: (
    handoffId: string,
    participantId: string,
    reason?: string
  ) => Effect.Effect<Handoff, RoutingNotFound | HandoffNotPending | NotPermitted | StoreError>
  readonly get: (handoffId: string) => Effect.Effect<Handoff, RoutingNotFound | StoreError>
  /** A conversation's handoffs, oldest first. */
  readonly list: (conversationId: string) => Effect.Effect<ReadonlyArray<Handoff>, StoreError>
}

/** Asks someone to take a conversation over (see {@link requestHandoff}). */
export type RequestHandoff = (
  conversationId: string,
  request: HandoffRequest
) => Effect.Effect<Handoff, InvalidInput | NotFound | RoutingNotFound | HandoffAlreadyPending | StoreError>

/** `hub.handoff` and `hub.handoffs`. */
export const makeHandoffApi = (
  ctx: RoutingContext
): { readonly handoff: RequestHandoff; readonly handoffs: HandoffApi } => {
  const { store, options, log } = ctx
  const tx = ctx.transaction
  const handoffs: HandoffApi = {
    accept: (handoffId, participantId) =>
      Effect.map(
        tx((t) => acceptHandoff(t, handoffId, participantId, new Date())),
        (r) => r.handoff
      ),
    decline: (handoffId, participantId, reason) =>
      tx((t) => declineHandoff(t, options, log, handoffId, participantId, reason, new Date())),
    get: (handoffId) =>
      store.read((t) =>
        Effect.flatMap(t.routing.getHandoff(handoffId), (h) =>
          h ? Effect.succeed(h) : Effect.fail(new RoutingNotFound({ entity: "handoff", id: handoffId }))
        )
      ),
    list: (conversationId) => store.read((t) => t.routing.listHandoffs(conversationId as ConversationId))
  }
  const handoff: RequestHandoff = (conversationId, raw) =>
    Effect.flatMap(
      Schema.decodeUnknown(HandoffRequest)(raw).pipe(Effect.mapError(invalidInput("handoff"))),
      (request) => tx((t) => requestHandoff(t, options, conversationId, request, new Date()))
    )
  return { handoff, handoffs }
}
