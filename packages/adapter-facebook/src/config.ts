import { Redacted } from "effect"
import type { Dispatcher } from "undici"
import type { MessengerEvent } from "./parse.js"

/** A secret given as plain text or already wrapped, so it never lands in logs once read. */
export type Secret = string | Redacted.Redacted<string>

/** One Facebook Page the app answers for. */
export interface FacebookPageConfig {
  /** The Page id (`entry[].id` and `recipient.id` in webhooks). */
  readonly pageId: string
  /** The Page access token used for the Send API and thread control. */
  readonly pageAccessToken: Secret
  /**
   * The app was granted the Human Agent permission for this page: agents may answer up to 7
   * days after the customer's last message with the HUMAN_AGENT tag.
   */
  readonly humanAgent?: boolean | undefined
  /**
   * The app may read people's names through the User Profile API for this page (Business Asset
   * User Profile Access): a new contact gets its Facebook name. Default false: no lookups.
   */
  readonly userProfile?: boolean | undefined
}

/**
 * Reads the bytes behind an attachment ref that is not an http(s) URL (the email adapter's
 * `AttachmentStore` fits), so that they can be uploaded to Meta.
 */
export interface AttachmentReader {
  readonly get: (ref: string) => Promise<Uint8Array | undefined>
}

/** Options of {@link createFacebookAdapter}. */
export interface FacebookAdapterConfig {
  /** The Meta app id: its own echoes and thread ownership are recognised by it. */
  readonly appId: string
  /** The app secret that signs webhooks (`X-Hub-Signature-256`). */
  readonly appSecret: Secret
  /** The token typed into the app dashboard; the GET handshake must repeat it. */
  readonly verifyToken: Secret
  /** Every page of the app; webhooks for any other page are refused. */
  readonly pages: ReadonlyArray<FacebookPageConfig>
  /** Channel name in dialogi; default `messenger`. */
  readonly channel?: string | undefined
  /** Graph API version, pinned so a Meta release never changes behaviour silently; default v24.0. */
  readonly graphVersion?: string | undefined
  /** Graph API base URL; default https://graph.facebook.com (tests point it at a local server). */
  readonly graphBaseUrl?: string | undefined
  /** undici dispatcher (a proxy Agent, a MockAgent); default undici's global one. */
  readonly dispatcher?: Dispatcher | undefined
  /** Timeout of one Graph API call in milliseconds; default 15 000. */
  readonly requestTimeoutMs?: number | undefined
  /**
   * Where attachment refs that are not http(s) URLs are read from; such attachments are
   * uploaded through the Attachment Upload API. Without it only URLs Meta can fetch are sent.
   */
  readonly attachments?: AttachmentReader | undefined
  /**
   * Receives what a dialogi message cannot carry: echoes of messages the page sent from
   * elsewhere (Page Inbox, another app), standalone referrals and thread-control events. Called
   * after the batch was committed; a throw is logged, never turned into a webhook failure.
   */
  readonly onEvent?: ((event: MessengerEvent) => void | Promise<void>) | undefined
}

/** The config with defaults filled in and secrets wrapped. */
export interface ResolvedConfig {
  readonly appId: string
  readonly appSecret: Redacted.Redacted<string>
  readonly verifyToken: Redacted.Redacted<string>
  readonly pages: ReadonlyMap<string, ResolvedPage>
  readonly channel: string
  readonly graphVersion: string
  readonly graphBaseUrl: string
  readonly dispatcher: Dispatcher | undefined
  readonly requestTimeoutMs: number
  readonly onEvent: FacebookAdapterConfig["onEvent"]
  readonly attachments: AttachmentReader | undefined
}

/** One page with its token wrapped. */
export interface ResolvedPage {
  readonly pageId: string
  readonly pageAccessToken: Redacted.Redacted<string>
  readonly humanAgent: boolean
  readonly userProfile: boolean
}

/** The Graph API version this package was written and tested against. */
export const defaultGraphVersion = "v24.0"

const wrap = (secret: Secret): Redacted.Redacted<string> =>
  typeof secret === "string" ? Redacted.make(secret) : secret

const fail = (message: string): never => {
  throw new Error(`[dialogi/messenger] ${message}`)
}

/** Checks the config and fills in defaults; throws a clear error for anything unusable. */
export const resolveConfig = (config: FacebookAdapterConfig): ResolvedConfig => {
  if (!/^\d+$/.test(config.appId)) fail(`appId must be the numeric Meta app id, got "${config.appId}"`)
  if (Redacted.value(wrap(config.appSecret)).length === 0) fail("appSecret is empty")
  if (Redacted.value(wrap(config.verifyToken)).length === 0) fail("verifyToken is empty")
  if (config.pages.length === 0) fail("at least one page is required")
  const pages = new Map<string, ResolvedPage>()
  for (const page of config.pages) {
    if (!/^\d+$/.test(page.pageId)) fail(`pageId must be numeric, got "${page.pageId}"`)
    if (pages.has(page.pageId)) fail(`page ${page.pageId} is configured twice`)
    if (Redacted.value(wrap(page.pageAccessToken)).length === 0) fail(`page ${page.pageId} has no token`)
    pages.set(page.pageId, {
      pageId: page.pageId,
      pageAccessToken: wrap(page.pageAccessToken),
      humanAgent: page.humanAgent ?? false,
      userProfile: page.userProfile ?? false
    })
  }
  const graphVersion = config.graphVersion ?? defaultGraphVersion
  if (!/^v\d+\.\d+$/.test(graphVersion)) fail(`graphVersion must look like v24.0, got "${graphVersion}"`)
  return {
    appId: config.appId,
    appSecret: wrap(config.appSecret),
    verifyToken: wrap(config.verifyToken),
    pages,
    channel: config.channel ?? "messenger",
    graphVersion,
    graphBaseUrl: (config.graphBaseUrl ?? "https://graph.facebook.com").replace(/\/+$/, ""),
    dispatcher: config.dispatcher,
    requestTimeoutMs: config.requestTimeoutMs ?? 15_000,
    onEvent: config.onEvent,
    attachments: config.attachments
  }
}
