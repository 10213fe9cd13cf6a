import { Hub, type StoreService } from "@dialogi/core"
import { Effect, Exit, Scope } from "effect"
import type {
  DeadDelivery,
  ReplayRange,
  ReplayStarted,
  SubscriptionStatus,
  WebhooksOptions
} from "./Webhooks.js"
import * as Webhooks from "./Webhooks.js"

/** Options of {@link createWebhooks}: the hub's store plus the sender's options. */
export interface CreateWebhooksOptions extends WebhooksOptions {
  /** The store the hub uses, e.g. `await pgliteStore({ dataDir })`. */
  readonly store: StoreService
}

/**
 * The webhook sender with plain Promises. Failures reject with tagged errors (`err._tag` is
 * e.g. "UnknownSubscription").
 */
export interface DialogiWebhooks {
  readonly replay: (subscriptionId: string, range: ReplayRange) => Promise<ReplayStarted>
  readonly deadLetters: () => Promise<ReadonlyArray<DeadDelivery>>
  readonly status: (subscriptionId: string) => Promise<SubscriptionStatus>
  /** Stops delivering (jobs in progress finish first). Call it before the hub closes the store. */
  readonly close: () => Promise<void>
}

/**
 * Starts outbound webhooks without any Effect knowledge:
 * `const webhooks = await createWebhooks({ store, subscriptions: [{ id, url, secrets, eventTypes }] })`.
 */
export const createWebhooks = async (options: CreateWebhooksOptions): Promise<DialogiWebhooks> => {
  const { store, ...rest } = options
  const scope = Effect.runSync(Scope.make())
  const service = await Hub.runTyped(Scope.extend(Webhooks.make(store, rest), scope)).catch(async (error) => {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    throw error
  })
  let closed = false
  return {
    replay: (id, range) => Hub.runTyped(service.replay(id, range)),
    deadLetters: () => Hub.runTyped(service.deadLetters()),
    status: (id) => Hub.runTyped(service.status(id)),
    close: async () => {
      if (closed) return
      closed = true
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
  }
}
