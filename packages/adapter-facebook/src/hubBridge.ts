import type { DialogiEvent, DialogiHub, HandoffRequest } from "@dialogi/core"
import { formatAddress, parseAddress } from "./address.js"
import type { ConversationIndex } from "./ConversationIndex.js"
import type { ResolvedConfig } from "./config.js"
import type { MessengerEvent } from "./parse.js"
import {
  pageInboxAppId,
  type ThreadControlAction,
  type ThreadOwner,
  type ThreadOwners
} from "./threadControl.js"

/** The part of the hub the bridge uses (a `DialogiHub` fits). */
export type BridgedHub = Pick<DialogiHub, "events" | "handoff" | "thread" | "note">

/** Options of `adapter.followHub`. */
export interface FollowHubOptions {
  /**
   * The hub event seq to start after: the `seq()` a previous follower reached, or the head of
   * the log on a first start (0 replays every handoff ever made).
   */
  readonly after: number
  /**
   * Who is asked to take a conversation whose thread another app (a page bot) passed to us.
   * Without it a pass only updates thread ownership and reaches `onEvent`.
   */
  readonly handoffTo?: HandoffRequest["to"] | undefined
  /**
   * What a handoff to a person does while another app owns the thread: `take` it (our app needs
   * a role that may take, e.g. the primary app of the page) or `request` it from the owner.
   * Default `take`.
   */
  readonly humanHandoff?: "take" | "request" | undefined
  /**
   * The app that gets the thread back when the conversation is resolved or handed to a bot.
   * Default: the app we took it from, else the Page Inbox.
   */
  readonly returnToAppId?: string | undefined
}

/** A running bridge between hub handoffs and Messenger thread control. */
export interface HubFollower {
  /** The seq of the last hub event handled; pass it as `after` to resume. */
  readonly seq: () => number
  /** Stops following; resolves once the event being handled is done. */
  readonly close: () => Promise<void>
}

/** What the bridge needs from the adapter. */
export interface BridgeDeps {
  readonly config: ResolvedConfig
  readonly owners: ThreadOwners
  readonly conversations: ConversationIndex
  /** The app each thread was taken from or passed to us by, so that it gets it back. */
  readonly takenFrom: ThreadOwners
  readonly control: (
    address: string,
    action: ThreadControlAction,
    extra?: { readonly targetAppId?: string | undefined; readonly metadata?: string | undefined }
  ) => Promise<void>
  readonly refreshOwner: (address: string) => Promise<ThreadOwner>
  readonly log: (level: "debug" | "info" | "warn" | "error", message: string, data?: unknown) => void
}

// Meta caps thread-control metadata at 1,000 characters; the handoff reason is at most 500.
const metadataOf = (text: string) => text.slice(0, 1000)

const tagOf = (error: unknown) => (error as { _tag?: unknown } | null)?._tag

/**
 * Maps the core handoff primitive onto Messenger thread control, both ways:
 * - a handoff to an agent or a team takes (or requests) the thread when another app owns it;
 * - a handoff to a bot, or the conversation resolved, passes the thread back (see
 *   {@link FollowHubOptions.returnToAppId}) when we own it;
 * - another app passing the thread to us becomes a handoff to {@link FollowHubOptions.handoffTo};
 *   another app taking it from us, or asking for it, becomes an internal note in the thread.
 */
export const makeHubBridge = (deps: BridgeDeps, hub: BridgedHub, options: FollowHubOptions) => {
  const { config } = deps
  const isOurs = (owner: ThreadOwner | undefined) => owner?._tag === "app" && owner.appId === config.appId

  const addressOf = async (conversationId: string): Promise<string | undefined> => {
    const known = deps.conversations.addressOf(conversationId)
    if (known !== undefined) return known
    // Not seen by this process (a restart, another instance): the contact's Messenger identity.
    const { contact } = await hub.thread(conversationId)
    return contact.identities.find((identity) => {
      if (identity.channel !== config.channel) return false
      const id = parseAddress(identity.address)
      return id !== undefined && config.pages.has(id.pageId)
    })?.address
  }

  const ownerOf = async (address: string) => deps.owners.get(address) ?? (await deps.refreshOwner(address))

  const toPerson = async (conversationId: string, reason: string) => {
    const address = await addressOf(conversationId)
    if (address === undefined) return
    const owner = await ownerOf(address)
    // Idle threads reach every app, and our own need nothing.
    if (owner._tag !== "app" || owner.appId === config.appId) return
    deps.takenFrom.set(address, owner)
    await deps.control(
      address,
      options.humanHandoff === "request" ? "request_thread_control" : "take_thread_control",
      { metadata: metadataOf(reason) }
    )
  }

  const giveBack = async (conversationId: string, reason: string) => {
    const address = await addressOf(conversationId)
    if (address === undefined || !isOurs(await ownerOf(address))) return
    const from = deps.takenFrom.get(address)
    const targetAppId =
      options.returnToAppId ??
      (from?._tag === "app" && from.appId !== "unknown" ? from.appId : pageInboxAppId)
    await deps.control(address, "pass_thread_control", { targetAppId, metadata: metadataOf(reason) })
  }

  const onHubEvent = async (event: DialogiEvent) => {
    const body = event.body
    if (body._tag === "handoff.requested")
      await (body.to._tag === "bot"
        ? giveBack(body.conversationId, body.reason)
        : toPerson(body.conversationId, body.reason))
    else if (body._tag === "conversation.resolved")
      await giveBack(body.conversationId, "conversation resolved")
  }

  // Agents see in the thread when another app took the thread or asks for it, as an internal note.
  const noteFor = async (address: string, text: string) => {
    const conversationId = deps.conversations.conversationOf(address)
    if (conversationId !== undefined) await hub.note(conversationId, text, { _tag: "system" })
  }

  /** Called after a webhook batch committed, for each thread-control event in it. */
  const onHandover = async (event: Extract<MessengerEvent, { _tag: "handover" }>) => {
    const address = formatAddress(event)
    const about = event.metadata ? ` (${event.metadata})` : ""
    if (event.kind === "take_thread_control" && event.previousAppId === config.appId)
      return noteFor(
        address,
        `Messenger: app ${event.appId ?? "(none)"} took the thread${about}; replies here are refused until it passes it back.`
      )
    if (event.kind === "request_thread_control" && event.appId !== config.appId)
      return noteFor(
        address,
        `Messenger: app ${event.appId} asks for the thread${about}; it gets it back when the conversation is resolved.`
      )
    if (event.kind !== "pass_thread_control" || event.appId !== config.appId) return
    if (event.previousAppId !== undefined)
      deps.takenFrom.set(address, { _tag: "app", appId: event.previousAppId })
    const conversationId = deps.conversations.conversationOf(address)
    if (options.handoffTo === undefined || conversationId === undefined) {
      deps.log("info", `[dialogi/${config.channel}] thread passed to us; no handoff made`, {
        reason:
          options.handoffTo === undefined ? "no handoffTo configured" : "no conversation seen for it yet",
        previousAppId: event.previousAppId
      })
      return
    }
    try {
      await hub.handoff(conversationId, {
        to: options.handoffTo,
        reason: `Messenger: app ${event.previousAppId ?? "(none)"} passed the thread to dialogi`,
        ...(event.metadata ? { note: event.metadata } : {})
      })
    } catch (error) {
      // Someone already asked for a person (e.g. our own handoff that made the bot pass): fine.
      if (tagOf(error) !== "HandoffAlreadyPending") throw error
    }
  }

  const follow = (): HubFollower => {
    let seq = options.after
    const subscription = hub.events.subscribe(options.after)
    const done = (async () => {
      for await (const event of subscription) {
        try {
          await onHubEvent(event)
        } catch (error) {
          // Thread control is best effort: a failed call leaves ownership as it was, which the
          // reply checks report; the event stream must not stop for it.
          deps.log("warn", `[dialogi/${config.channel}] thread control for ${event.body._tag} failed`, {
            seq: event.seq,
            error: error instanceof Error ? error.message : String(error)
          })
        }
        seq = event.seq
      }
    })()
    return {
      seq: () => seq,
      close: async () => {
        subscription.close()
        await done
      }
    }
  }

  return { follow, onHandover }
}
