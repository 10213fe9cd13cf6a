import { adapterSuite } from "@dialogi/core/testing"
import { afterAll, beforeAll } from "vitest"
import { createTelegramAdapter } from "../src/index.ts"
import {
  botToken,
  chatId,
  type FakeBotApi,
  secretToken,
  startFakeBotApi,
  updateRequest
} from "./fakeBotApi.ts"

let api: FakeBotApi
beforeAll(async () => {
  api = await startFakeBotApi()
})
afterAll(() => api.close())

adapterSuite("telegram", {
  makeAdapter: () => createTelegramAdapter({ botToken, secretToken, apiBaseUrl: api.url }),
  inboundRequest: (_adapter, providerId) => updateRequest(providerId, secretToken),
  forgedRequest: (_adapter, providerId) => updateRequest(providerId, "a-guessed-secret-token"),
  recipient: String(chatId),
  failNextSend: (_adapter, retryable) => api.failNext(retryable ? 429 : 403)
})
