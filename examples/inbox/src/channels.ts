import {
  type ChatAdapter,
  createChatAdapter,
  hubExpectedReply,
  hubFanOut,
  hubHistory,
  hubOfflineEmail
} from "@dialogi/adapter-chat"
import { createEmailAdapter, fileAttachmentStore, fileKeyValueStore } from "@dialogi/adapter-email"
import { createFacebookAdapter } from "@dialogi/adapter-facebook"
import { createPhoneAdapters } from "@dialogi/adapter-phone"
import type { ChannelAdapter, DialogiHub, StoreService } from "@dialogi/core"
import { Redacted } from "effect"
import type { InboxConfig } from "./config.ts"

/** A webhook path below which a provider calls one channel's handler. */
export interface WebhookRoute {
  readonly path: string
  readonly channel: string
}

/** The adapters this configuration enables, the chat controls and the webhook paths. */
export interface ConfiguredChannels {
  readonly chat: ChatAdapter
  readonly adapters: ReadonlyArray<ChannelAdapter>
  readonly webhooks: ReadonlyArray<WebhookRoute>
  /** Channel names in the order the inbox lists them. */
  readonly names: ReadonlyArray<string>
}

/**
 * Chat always; email, SMS/voice and Messenger when their settings are present. `hub` is a
 * function because the chat adapter reads history from the hub that it is given to; `store`
 * is the hub's, whose job queue holds the chat's offline email checks.
 */
export const configureChannels = (
  config: InboxConfig,
  chatSecret: Redacted.Redacted<string>,
  hub: () => DialogiHub,
  store: StoreService
): ConfiguredChannels => {
  const chat = createChatAdapter({
    secret: chatSecret,
    history: hubHistory(hub),
    // The widget shows when the customer can expect an answer (the inbox runs an SLA policy).
    expectedReply: hubExpectedReply(hub),
    // On PostgreSQL several inbox processes may share the database: a reply whose send another
    // process ran still reaches a visitor connected to this one. PGlite is one process.
    ...(config.databaseUrl === undefined ? {} : { fanOut: hubFanOut(hub) }),
    // A reply no open chat took within a minute is also emailed, in the same thread, to a
    // visitor whose email the host page signed (an unsigned email never gets one).
    ...(config.email === undefined ? {} : { offline: hubOfflineEmail(hub, { store }) })
  })
  const adapters: ChannelAdapter[] = [chat]
  const webhooks: WebhookRoute[] = []

  if (config.email) {
    const { email } = config
    const secret = (value: Redacted.Redacted<string> | undefined) =>
      value === undefined ? undefined : Redacted.value(value)
    adapters.push(
      createEmailAdapter({
        address: email.address,
        threadingSecret: Redacted.value(email.threadingSecret),
        smtp: {
          host: email.smtp.host,
          port: email.smtp.port,
          secure: email.smtp.secure,
          ...(email.smtp.user !== undefined
            ? { auth: { user: email.smtp.user, pass: secret(email.smtp.pass) ?? "" } }
            : {})
        },
        ...(email.imap
          ? {
              imap: {
                host: email.imap.host,
                port: email.imap.port,
                secure: email.imap.secure,
                auth: { user: email.imap.user, pass: Redacted.value(email.imap.pass) }
              }
            }
          : {}),
        ...(email.webhookSecret ? { webhookSecret: Redacted.value(email.webhookSecret) } : {}),
        state: fileKeyValueStore(`${config.dataDir}/email-state`),
        attachments: { store: fileAttachmentStore(`${config.dataDir}/attachments`) }
      })
    )
    if (email.webhookSecret) webhooks.push({ path: "/webhooks/email", channel: "email" })
  }

  if (config.phone && config.publicUrl) {
    const phone = createPhoneAdapters({
      accountSid: config.phone.accountSid,
      authToken: Redacted.value(config.phone.authToken),
      smsWebhookUrl: `${config.publicUrl}/twilio/sms`,
      voiceWebhookUrl: `${config.publicUrl}/twilio/voice`,
      messagingServiceSid: config.phone.messagingServiceSid,
      from: config.phone.from,
      apiBaseUrl: config.phone.apiBaseUrl
    })
    adapters.push(...phone.all)
    webhooks.push({ path: "/twilio/sms", channel: phone.sms.channel })
    webhooks.push({ path: "/twilio/voice", channel: phone.voice.channel })
  }

  if (config.facebook) {
    const fb = config.facebook
    const messenger = createFacebookAdapter({
      appId: fb.appId,
      appSecret: fb.appSecret,
      verifyToken: fb.verifyToken,
      pages: [{ pageId: fb.pageId, pageAccessToken: fb.pageAccessToken, humanAgent: fb.humanAgent }],
      graphBaseUrl: fb.graphBaseUrl
    })
    adapters.push(messenger)
    webhooks.push({ path: "/webhooks/messenger", channel: messenger.channel })
  }

  return { chat, adapters, webhooks, names: adapters.map((a) => a.channel) }
}

/** The webhook route a request path belongs to (the path itself or below it). */
export const webhookFor = (routes: ReadonlyArray<WebhookRoute>, pathname: string): WebhookRoute | undefined =>
  routes.find((r) => pathname === r.path || pathname.startsWith(`${r.path}/`))
