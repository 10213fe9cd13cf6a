import { readFileSync } from "node:fs"
import { afterAll } from "vitest"
import { createFacebookAdapter, type FacebookAdapterConfig, signBody } from "../src/index.js"
import { type GraphServer, startGraphServer } from "./graphServer.js"

export const appId = "123456789"
export const appSecret = "test-app-secret"
export const verifyToken = "test-verify-token"
export const pageId = "1111111111"
export const otherPageId = "3333333333"
export const psid = "2222222222"
export const address = `${pageId}:${psid}`
export const pageBotAppId = "7777777777"
export const graphVersion = "v24.0"
export const mockPages = [
  { token: "page-token-1", humanAgent: true, userProfile: true },
  { token: "page-token-3", humanAgent: false }
]

/**
 * The mock Graph API serving the test pages, for one test file: started as the file loads
 * (`const graph = await mockGraphForFile()`), closed after the file's tests.
 */
export const mockGraphForFile = async (): Promise<GraphServer> => {
  const graph = await startGraphServer(graphVersion, mockPages)
  afterAll(async () => {
    await graph.close()
  })
  return graph
}

/** A fixture's raw text, exactly as stored (Meta's escaping kept). */
export const fixture = (name: string): string =>
  readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), "utf8")

/** A webhook POST signed as Meta signs it. */
export const signed = (body: string, secret = appSecret): Request =>
  new Request("https://hooks.example.com/webhooks/messenger", {
    method: "POST",
    headers: { "content-type": "application/json", "x-hub-signature-256": signBody(secret, body) },
    body
  })

/** A text message webhook body from the customer, with a chosen mid and time. */
export const textMessage = (
  mid: string,
  text: string,
  timestamp = Date.now(),
  page = pageId,
  from = psid
): string =>
  JSON.stringify({
    object: "page",
    entry: [
      {
        id: page,
        time: timestamp,
        messaging: [{ sender: { id: from }, recipient: { id: page }, timestamp, message: { mid, text } }]
      }
    ]
  })

/** The adapter under test, talking to the mock Graph API. */
export const makeAdapter = (graph: GraphServer, overrides: Partial<FacebookAdapterConfig> = {}) =>
  createFacebookAdapter({
    appId,
    appSecret,
    verifyToken,
    graphVersion,
    graphBaseUrl: graph.baseUrl,
    pages: [
      { pageId, pageAccessToken: "page-token-1", humanAgent: true },
      { pageId: otherPageId, pageAccessToken: "page-token-3" }
    ],
    ...overrides
  })
