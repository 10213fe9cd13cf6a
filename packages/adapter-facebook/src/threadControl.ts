import type { ResolvedConfig, ResolvedPage } from "./config.js"
import { toSendFailed } from "./errorCodes.js"
import { callGraph } from "./graphClient.js"
import type { MessengerEvent } from "./parse.js"

/** The app id of Meta's Page Inbox, the usual target when a human takes over. */
export const pageInboxAppId = "263902037430900"

/** Who owns a thread, as far as this process saw: an app id, or `idle` (nobody). */
export type ThreadOwner = { readonly _tag: "app"; readonly appId: string } | { readonly _tag: "idle" }

/**
 * Thread ownership per address, learnt from messaging_handovers, standby events and our own
 * thread-control calls. In memory only: dialogi core has no handoff primitive yet, so this is
 * the adapter's own view; after a restart it is unknown until the next event (then Meta's
 * /thread_owner can be asked with `threadOwner`).
 */
export interface ThreadOwners {
  readonly get: (address: string) => ThreadOwner | undefined
  readonly set: (address: string, owner: ThreadOwner) => void
}

/** Creates the map (at most `limit` addresses). */
export const makeThreadOwners = (limit = 100_000): ThreadOwners => {
  const owners = new Map<string, ThreadOwner>()
  return {
    get: (address) => owners.get(address),
    set: (address, owner) => {
      owners.delete(address)
      owners.set(address, owner)
      if (owners.size > limit) {
        const oldest = owners.keys().next().value
        if (oldest !== undefined) owners.delete(oldest)
      }
    }
  }
}

/** Applies a handover event to the ownership map. */
export const applyHandover = (
  owners: ThreadOwners,
  address: string,
  event: Extract<MessengerEvent, { _tag: "handover" }>
): void => {
  // A request only asks; ownership moves when the owner passes, or someone takes.
  if (event.kind === "request_thread_control") return
  owners.set(address, event.appId === undefined ? { _tag: "idle" } : { _tag: "app", appId: event.appId })
}

/** The thread-control operations of the Conversation Routing / handover API. */
export type ThreadControlAction =
  | "pass_thread_control"
  | "take_thread_control"
  | "request_thread_control"
  | "release_thread_control"

/**
 * Calls `POST /{version}/me/{action}` for one person. Meta answers `{ success: true }`; errors
 * are thrown as `SendFailed` with the same code table as sends.
 */
export const threadControlCall = async (
  config: ResolvedConfig,
  page: ResolvedPage,
  action: ThreadControlAction,
  psid: string,
  options: { readonly targetAppId?: string | undefined; readonly metadata?: string | undefined } = {}
): Promise<void> => {
  const body: Record<string, unknown> = { recipient: { id: psid } }
  if (action === "pass_thread_control") body.target_app_id = options.targetAppId ?? pageInboxAppId
  if (options.metadata !== undefined && action !== "release_thread_control") body.metadata = options.metadata
  const response = await callGraph(config, page.pageAccessToken, "POST", `me/${action}`, body)
  if (!response.ok) throw toSendFailed(config.channel, response.status, response.error)
}

/** Asks Meta which app owns the thread now (`GET /me/thread_owner?recipient=PSID`). */
export const fetchThreadOwner = async (
  config: ResolvedConfig,
  page: ResolvedPage,
  psid: string
): Promise<ThreadOwner> => {
  const response = await callGraph(config, page.pageAccessToken, "GET", "me/thread_owner", undefined, {
    recipient: psid
  })
  if (!response.ok) throw toSendFailed(config.channel, response.status, response.error)
  const data = response.body.data
  const first = Array.isArray(data)
    ? (data[0] as { thread_owner?: { app_id?: unknown } } | undefined)
    : undefined
  const appId = first?.thread_owner?.app_id
  return appId === undefined || appId === null ? { _tag: "idle" } : { _tag: "app", appId: String(appId) }
}
