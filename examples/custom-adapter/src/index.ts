import type { AdapterContext, ChannelAdapter } from "@dialogi/core"
import { channel, telegramCapabilities } from "./capabilities.ts"
import { resolveConfig, type TelegramAdapterConfig } from "./config.ts"
import { makeSend } from "./send.ts"
import { makeWebhookHandler } from "./webhook.ts"

export { type TelegramAdapterConfig, TelegramConfigError } from "./config.ts"
export { secretTokenHeader } from "./webhook.ts"

/** A Telegram bot as a dialogi channel; serve `hub.webhook("telegram")` at the URL given to setWebhook. */
export const createTelegramAdapter = (input: TelegramAdapterConfig): ChannelAdapter => {
  const config = resolveConfig(input)
  let context: AdapterContext | undefined
  return {
    channel,
    capabilities: telegramCapabilities,
    start: async (hub) => {
      context = hub
    },
    stop: async () => {
      context = undefined
    },
    send: makeSend(config),
    handleWebhook: makeWebhookHandler(config, () => context)
  }
}
