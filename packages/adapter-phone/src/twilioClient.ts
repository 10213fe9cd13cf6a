import twilio from "twilio"
import type { PhoneAdapterConfig } from "./config.js"

/** The REST client the adapter uses; a twilio-node client. */
export type TwilioClient = twilio.Twilio

/**
 * Builds the twilio client. `apiBaseUrl` swaps the origin of every request (tests against a
 * local server speaking Twilio's OpenAPI, or an egress proxy); the path stays Twilio's.
 * autoRetry stays off: a retried POST /Messages could send twice, retries are the hub's.
 */
export const makeTwilioClient = (config: PhoneAdapterConfig): TwilioClient => {
  const timeout = config.requestTimeoutMs ?? 15_000
  const base = config.apiBaseUrl
  const httpClient = new twilio.RequestClient({ timeout })
  if (base !== undefined) {
    const request = httpClient.request.bind(httpClient)
    httpClient.request = (opts) => {
      const uri = new URL(opts.uri)
      const target = new URL(`${uri.pathname}${uri.search}`, base)
      return request({ ...opts, uri: target.href })
    }
  }
  return twilio(config.accountSid, config.authToken, { httpClient, autoRetry: false, timeout })
}
