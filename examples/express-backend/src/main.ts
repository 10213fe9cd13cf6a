import { createServer } from "node:http"
import { pgliteStore, postgresStore } from "@dialogi/store-postgres"
import { mountDialogi } from "./dialogi.ts"
import { Helpdesk } from "./helpdesk.ts"
import { createShopApp } from "./shop.ts"

// The app as it runs in production; the test builds the same pieces on port 0.
const app = createShopApp()
const server = createServer(app)
const helpdesk = new Helpdesk()
const hub = await mountDialogi(
  app,
  server,
  {
    store: process.env.DATABASE_URL
      ? await postgresStore({ connectionString: process.env.DATABASE_URL })
      : await pgliteStore({ dataDir: process.env.DIALOGI_DATA_DIR ?? "./dialogi-data" }),
    chatSecret: process.env.CHAT_SECRET ?? "dev-only-chat-secret-change-me",
    messenger: {
      appId: process.env.FB_APP_ID ?? "123456789",
      appSecret: process.env.FB_APP_SECRET ?? "dev-only-app-secret",
      verifyToken: process.env.FB_VERIFY_TOKEN ?? "dev-only-verify-token",
      pages: [
        {
          pageId: process.env.FB_PAGE_ID ?? "1111111111",
          pageAccessToken: process.env.FB_PAGE_TOKEN ?? "page-token"
        }
      ]
    }
  },
  helpdesk
)
server.listen(Number(process.env.PORT ?? 3000), () => console.log(`listening on ${process.env.PORT ?? 3000}`))
process.once("SIGTERM", () => server.close(() => void hub.close()))
