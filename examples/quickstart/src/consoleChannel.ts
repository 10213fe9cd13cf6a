import type { ChannelAdapter } from "@dialogi/core"

/**
 * A channel that "delivers" by printing, so the quickstart needs no mail server or provider
 * account. Real adapters (email, phone, Messenger, chat) have the same shape.
 */
export const consoleChannel = (channel: string, print: (line: string) => void): ChannelAdapter => {
  let sent = 0
  return {
    channel,
    capabilities: {
      text: true,
      html: false,
      attachments: false,
      typing: false,
      readReceipts: false,
      deliveryReceipts: false,
      canInitiate: true
    },
    send: async (request) => {
      sent += 1
      const text = request.parts.map((p) => (p._tag === "text" ? p.text : `[${p._tag}]`)).join(" ")
      print(`  -> ${channel} to ${request.to}: ${text}`)
      return { providerMessageId: `${channel}-${sent}-${request.messageId}` }
    }
  }
}
