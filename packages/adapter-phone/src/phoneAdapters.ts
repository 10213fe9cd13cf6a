import type { ChannelAdapter } from "@dialogi/core"
import { checkConfig, type PhoneAdapterConfig } from "./config.js"
import { makeOptOutRegistry, memoryOptOutStore } from "./OptOutStore.js"
import { makeSendLedger } from "./send.js"
import { createSmsAdapter, type SmsAdapter } from "./smsAdapter.js"
import { makeTwilioClient } from "./twilioClient.js"
import { createVoiceAdapter } from "./voiceAdapter.js"

/** The two adapters of one Twilio account: register both with the hub. */
export interface PhoneAdapters {
  readonly sms: SmsAdapter
  readonly voice: ChannelAdapter
  /** Both, for `createHub({ adapters: [...phone.all, ...] })`. */
  readonly all: ReadonlyArray<ChannelAdapter>
}

/**
 * Creates the `sms` and `voice` adapters over one Twilio account. Core registers one adapter
 * per channel name, so SMS and calls are two adapters sharing the REST client and opt-outs.
 */
export const createPhoneAdapters = (config: PhoneAdapterConfig): PhoneAdapters => {
  checkConfig(config)
  const now = () => Date.now()
  const client = makeTwilioClient(config)
  const optOuts = makeOptOutRegistry(config.optOutStore ?? memoryOptOutStore())
  const sms = createSmsAdapter({ config, client, optOuts, ledger: makeSendLedger(), now })
  const voice = createVoiceAdapter({ config, now })
  return { sms, voice, all: [sms, voice] }
}
