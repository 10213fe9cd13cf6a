import { join } from "node:path"
import type { ChannelAdapter } from "@dialogi/core"
import { fileAttachmentStore } from "./AttachmentStore.js"
import { makeCallerConversations } from "./callerConversations.js"
import { checkConfig, type PhoneAdapterConfig } from "./config.js"
import { fileKeyValueStore, type KeyValueStore, memoryKeyValueStore } from "./KeyValueStore.js"
import { keyValueOptOutStore, makeOptOutRegistry } from "./OptOutStore.js"
import { makeSendLedger } from "./send.js"
import { createSmsAdapter, type SmsAdapter } from "./smsAdapter.js"
import { makeTwilioClient } from "./twilioClient.js"
import { createVoiceAdapter, type VoiceAdapter, type VoiceHub } from "./voiceAdapter.js"

/** The two adapters of one Twilio account: register both with the hub. */
export interface PhoneAdapters {
  readonly sms: SmsAdapter
  readonly voice: VoiceAdapter
  /** Both, for `createHub({ adapters: [...phone.all, ...] })`. */
  readonly all: ReadonlyArray<ChannelAdapter>
  /**
   * Hands the adapters the hub they are registered with, after `createHub`: the call greeting
   * then tells the SLA's expected answer time, and callbacks (`config.callbacks`) are dialled.
   */
  readonly attach: (hub: VoiceHub) => Promise<void>
  /** The state store in use (opt-outs, callback progress, callers' threads). */
  readonly state: KeyValueStore
}

/**
 * Creates the `sms` and `voice` adapters over one Twilio account. Core registers one adapter
 * per channel name, so SMS and calls are two adapters sharing the REST client and opt-outs.
 */
export const createPhoneAdapters = (config: PhoneAdapterConfig): PhoneAdapters => {
  checkConfig(config)
  const now = () => Date.now()
  const client = makeTwilioClient(config)
  const durable = config.stateStore !== undefined || config.stateDirectory !== undefined
  const state =
    config.stateStore ??
    (config.stateDirectory === undefined ? memoryKeyValueStore() : fileKeyValueStore(config.stateDirectory))
  const optOuts = makeOptOutRegistry(config.optOutStore ?? keyValueOptOutStore(state))
  const callers = makeCallerConversations(state)
  const mediaDirectory =
    config.attachments?.directory ??
    (config.stateDirectory === undefined ? undefined : join(config.stateDirectory, "attachments"))
  const attachmentStore =
    config.attachments?.store ??
    (mediaDirectory === undefined ? undefined : fileAttachmentStore(mediaDirectory))
  const sms = createSmsAdapter({
    config,
    client,
    optOuts,
    ledger: makeSendLedger(),
    callers,
    attachmentStore,
    now,
    ...(durable || config.optOutStore !== undefined ? {} : { volatileWarning: true })
  })
  const voice = createVoiceAdapter({ config, client, state, callers, attachmentStore, now })
  return { sms, voice, all: [sms, voice], attach: (hub) => voice.attach(hub), state }
}
