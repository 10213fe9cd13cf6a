import type { ChannelAdapter, ReplyRefusal, SendReceipt, SendRequest } from "@dialogi/core"
import { SendFailed } from "@dialogi/core"
import { type PageScopedId, parseAddress } from "./address.js"
import { uploadAttachment } from "./attachmentUpload.js"
import { makeConversationIndex } from "./ConversationIndex.js"
import { messengerCapabilities } from "./capabilities.js"
import { type FacebookAdapterConfig, type ResolvedPage, resolveConfig } from "./config.js"
import { makeHandledMessages } from "./HandledMessages.js"
import { type BridgedHub, type FollowHubOptions, type HubFollower, makeHubBridge } from "./hubBridge.js"
import { makeOutboundLedger } from "./OutboundLedger.js"
import { makeProfileNames } from "./profileNames.js"
import { makeLastInbound, sendPolicy } from "./replyWindow.js"
import {
  type MetaMessage,
  type OutgoingMessage,
  ownMetadataPrefix,
  type SenderAction,
  sendApiBody,
  sendMessage,
  sendSenderAction,
  toMetaMessages
} from "./send.js"
import {
  fetchThreadOwner,
  makeThreadOwners,
  pageInboxAppId,
  type ThreadControlAction,
  type ThreadOwner,
  threadControlCall
} from "./threadControl.js"
import { makeWebhookHandler } from "./webhook.js"

/** The Messenger adapter: a dialogi `ChannelAdapter` plus Messenger-only operations. */
export interface FacebookAdapter extends ChannelAdapter {
  readonly handleWebhook: (request: Request) => Promise<Response>
  /** Shows or hides the typing indicator for a dialogi address (`<pageId>:<psid>`). */
  readonly senderAction: (address: string, action: SenderAction) => Promise<void>
  /** Takes the thread from the app that owns it (our app must be allowed to). */
  readonly takeThreadControl: (address: string, metadata?: string) => Promise<void>
  /** Passes the thread to another app; default target: the Page Inbox. */
  readonly passThreadControl: (address: string, targetAppId?: string, metadata?: string) => Promise<void>
  /** Asks the owner app to pass the thread to us. */
  readonly requestThreadControl: (address: string, metadata?: string) => Promise<void>
  /** Gives the thread up (it becomes idle). */
  readonly releaseThreadControl: (address: string) => Promise<void>
  /** Who owns the thread as far as this process saw; `refresh` asks Meta. */
  readonly threadOwner: (
    address: string,
    options?: { readonly refresh?: boolean }
  ) => Promise<ThreadOwner | undefined>
  /**
   * Maps the hub's handoffs onto thread control from now on (see {@link FollowHubOptions}):
   * a handoff to a person takes the thread from a page bot, resolving passes it back, and a
   * bot passing the thread to us becomes a handoff. One follower per adapter.
   */
  readonly followHub: (hub: BridgedHub, options: FollowHubOptions) => HubFollower
}

/**
 * Creates the Messenger adapter for one Meta app and its pages:
 * `createFacebookAdapter({ appId, appSecret, verifyToken, pages: [{ pageId, pageAccessToken }] })`.
 */
export const createFacebookAdapter = (options: FacebookAdapterConfig): FacebookAdapter => {
  const config = resolveConfig(options)
  const ledger = makeOutboundLedger()
  const lastInbound = makeLastInbound()
  const owners = makeThreadOwners()
  const takenFrom = makeThreadOwners()
  const conversations = makeConversationIndex()
  let bridge: ReturnType<typeof makeHubBridge> | undefined
  const progress = new Map<string, string[]>()
  let context: Parameters<NonNullable<ChannelAdapter["start"]>>[0] | undefined
  const { channel } = config

  const resolve = (address: string): { id: PageScopedId; page: ResolvedPage } => {
    const id = parseAddress(address)
    const page = id ? config.pages.get(id.pageId) : undefined
    if (!id || !page)
      throw new SendFailed({
        channel,
        reason: `[dialogi/${channel}] ${id ? `page ${id.pageId} is not configured` : `"${address}" is not a <pageId>:<psid> address`}`,
        retryable: false,
        code: "bad_address"
      })
    return { id, page }
  }

  const toSendable = async (page: ResolvedPage, message: OutgoingMessage): Promise<MetaMessage> => {
    if (!("upload" in message)) return message
    const { type, attachment } = message.upload
    // toMetaMessages only asks for uploads when a reader is configured.
    const attachmentId = await uploadAttachment(config, config.attachments!, page, type, attachment)
    return { attachment: { type, payload: { attachment_id: attachmentId } } }
  }

  const send = async (request: SendRequest): Promise<SendReceipt> => {
    const { id, page } = resolve(request.to)
    const policy = sendPolicy(lastInbound.get(request.to), Date.now(), page.humanAgent)
    if (policy._tag === "closed")
      throw new SendFailed({
        channel,
        reason: `[dialogi/${channel}] the messaging window closed at ${policy.closedAt.toISOString()}; not sent`,
        retryable: false,
        code: "window_closed"
      })
    const messages = toMetaMessages(channel, request.parts, config.attachments !== undefined)
    // Meta has no idempotency key: parts that went out in an earlier attempt are not resent.
    const done = progress.get(request.idempotencyKey) ?? []
    progress.set(request.idempotencyKey, done)
    try {
      for (let i = done.length; i < messages.length; i++) {
        const content = await toSendable(page, messages[i]!)
        const message = { ...content, metadata: `${ownMetadataPrefix}${request.messageId}:${i}` }
        done.push(await sendMessage(config, page, sendApiBody(id.psid, message, policy)))
      }
    } catch (error) {
      if ((error as { retryable?: unknown }).retryable !== true) progress.delete(request.idempotencyKey)
      throw error
    }
    progress.delete(request.idempotencyKey)
    ledger.record(request.to, done, Date.now())
    return { providerMessageId: done[0]!, status: "sent" }
  }

  const checkReply: NonNullable<ChannelAdapter["checkReply"]> = (reply): ReplyRefusal | undefined => {
    const id = parseAddress(reply.address)
    const page = id ? config.pages.get(id.pageId) : undefined
    if (!page)
      return { _tag: "CapabilityMissing", channel, capability: `a configured page for ${reply.address}` }
    if (reply.lastInbound) lastInbound.note(reply.address, reply.lastInbound.sentAt.getTime())
    const policy = sendPolicy(reply.lastInbound?.sentAt.getTime(), reply.now.getTime(), page.humanAgent)
    if (policy._tag === "closed")
      return { _tag: "WindowClosed", channel, closedAt: policy.closedAt, alternatives: [] }
    const owner = owners.get(reply.address)
    if (owner?._tag === "app" && owner.appId !== config.appId)
      return {
        _tag: "CapabilityMissing",
        channel,
        capability: `thread control (app ${owner.appId} owns this thread; take or request it first)`
      }
    return undefined
  }

  const control = async (
    address: string,
    action: ThreadControlAction,
    extra: { targetAppId?: string | undefined; metadata?: string | undefined } = {}
  ) => {
    const { id, page } = resolve(address)
    await threadControlCall(config, page, action, id.psid, extra)
    if (action === "take_thread_control") owners.set(address, { _tag: "app", appId: config.appId })
    if (action === "pass_thread_control")
      owners.set(address, { _tag: "app", appId: extra.targetAppId ?? pageInboxAppId })
    if (action === "release_thread_control") owners.set(address, { _tag: "idle" })
  }

  return {
    channel,
    capabilities: messengerCapabilities([...config.pages.values()].some((p) => p.humanAgent)),
    addressKind: "opaque",
    start: async (ctx) => {
      context = ctx
    },
    stop: async () => {
      context = undefined
    },
    send,
    checkReply,
    handleWebhook: makeWebhookHandler(config, {
      ledger,
      lastInbound,
      owners,
      conversations,
      handled: makeHandledMessages(),
      profiles: makeProfileNames(config, (message, data) =>
        context?.log("info", `[dialogi/${channel}] ${message}`, data)
      ),
      context: () => context,
      onHandover: () => bridge?.onHandover
    }),
    senderAction: async (address, action) => {
      const { id, page } = resolve(address)
      await sendSenderAction(config, page, id.psid, action)
    },
    takeThreadControl: (address, metadata) => control(address, "take_thread_control", { metadata }),
    passThreadControl: (address, targetAppId, metadata) =>
      control(address, "pass_thread_control", { targetAppId, metadata }),
    requestThreadControl: (address, metadata) => control(address, "request_thread_control", { metadata }),
    releaseThreadControl: (address) => control(address, "release_thread_control"),
    threadOwner: async (address, opts) => {
      if (!opts?.refresh) return owners.get(address)
      const { id, page } = resolve(address)
      const owner = await fetchThreadOwner(config, page, id.psid)
      owners.set(address, owner)
      return owner
    },
    followHub: (hub, followOptions) => {
      if (bridge) throw new Error(`[dialogi/${channel}] followHub was already called for this adapter`)
      const made = makeHubBridge(
        {
          config,
          owners,
          conversations,
          takenFrom,
          control,
          refreshOwner: async (address) => {
            const { id, page } = resolve(address)
            const owner = await fetchThreadOwner(config, page, id.psid)
            owners.set(address, owner)
            return owner
          },
          log: (level, message, data) => context?.log(level, message, data)
        },
        hub,
        followOptions
      )
      bridge = made
      const follower = made.follow()
      return {
        seq: follower.seq,
        close: async () => {
          await follower.close()
          if (bridge === made) bridge = undefined
        }
      }
    }
  }
}
