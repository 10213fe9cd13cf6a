import type { Effect, Scope } from "effect"
import type { Conversation } from "../../domain/Conversation.js"
import type { StoreError } from "../../domain/Errors.js"
import type { ConversationId } from "../../domain/Ids.js"
import type { NewDeadline, StoreService, StoreTx } from "../../store/Store.js"
import type { AdapterRegistry } from "../AdapterRegistry.js"
import { type CallbackApi, makeCallbackApi } from "./CallbackApi.js"
import { afterConversationChange } from "./conversationHooks.js"
import { type HandoffApi, makeHandoffApi, type RequestHandoff } from "./HandoffApi.js"
import type { LogFn } from "./placement.js"
import { makeRoutingAdmin, type RoutingAdmin } from "./RoutingAdmin.js"
import { makeRoutingContext } from "./RoutingContext.js"
import { type RoutingOptions, resolveRoutingOptions } from "./RoutingOptions.js"
import { routeNewConversations } from "./routeByRules.js"
import { runRoutingDeadlines } from "./routingDeadlines.js"

export type { CallbackApi, HandoffApi, RequestHandoff, RoutingAdmin }

/** The routing part of the hub and the hooks the rest of the hub calls. */
export interface Routing {
  readonly handoff: RequestHandoff
  readonly handoffs: HandoffApi
  readonly callbacks: CallbackApi
  readonly routing: RoutingAdmin
  /** Which of `ids` the participant may see. */
  readonly visibleTo: (
    participantId: string,
    ids: ReadonlyArray<ConversationId>
  ) => Effect.Effect<ReadonlyArray<ConversationId>, StoreError>
  /** Asked by ingest which deadlines the conversations it opened need (written with its batch). */
  readonly onConversationsOpened:
    | ((ids: ReadonlyArray<ConversationId>, now: Date) => ReadonlyArray<NewDeadline>)
    | undefined
  /** Called by status and assignment changes, in their transaction. */
  readonly afterConversationChange: (
    tx: StoreTx,
    before: Conversation,
    after: Conversation,
    now: Date
  ) => Effect.Effect<void, StoreError>
  /** Runs the routing, handoff and callback deadlines until the scope closes. */
  readonly runWorkers: Effect.Effect<void, StoreError, Scope.Scope>
}

/** Builds the routing part of a hub: its API, the hooks ingest and status changes call, its workers. */
export const makeRouting = (
  store: StoreService,
  registry: AdapterRegistry,
  routingOptions: RoutingOptions | undefined,
  log: LogFn
): Routing => {
  const ctx = makeRoutingContext(store, registry, resolveRoutingOptions(routingOptions), log)
  const { handoff, handoffs } = makeHandoffApi(ctx)
  return {
    handoff,
    handoffs,
    callbacks: makeCallbackApi(ctx),
    routing: makeRoutingAdmin(ctx),
    visibleTo: (participantId, ids) => store.read((t) => t.routing.visibleTo(participantId, ids)),
    onConversationsOpened: ctx.options.autoRoute ? routeNewConversations : undefined,
    afterConversationChange,
    runWorkers: runRoutingDeadlines(ctx)
  }
}

/** The routing part of the hub's public API. */
export type HubRouting = Pick<Routing, "handoff" | "handoffs" | "callbacks" | "routing">
