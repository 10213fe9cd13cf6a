// One hub process of the crash-safety test: createHub over postgresStore with the test channel
// adapter, its webhook served over node:http. Imports the BUILT packages (dist), like a user's
// app would. Env: DATABASE_URL, PORT, WEBHOOK_SECRET. Prints "ready <pid> <port>" when serving.
import http from "node:http"
import { createHub, toNodeListener } from "@dialogi/core"
import { createTestChannelAdapter } from "@dialogi/core/test-channel"
import { postgresStore } from "@dialogi/store-postgres"

const databaseUrl = process.env.DATABASE_URL
const port = Number(process.env.PORT)
const secret = process.env.WEBHOOK_SECRET ?? "test-secret"
if (!databaseUrl || !Number.isInteger(port) || port <= 0)
  throw new Error("hub-process.mjs needs DATABASE_URL and PORT")

const store = await postgresStore({ connectionString: databaseUrl })
const hub = await createHub({
  store,
  adapters: [createTestChannelAdapter({ channel: "test", secret })],
  log: (level, message, data) => {
    if (level === "warn" || level === "error")
      process.stderr.write(
        `[hub ${process.pid}] ${level} ${message} ${data === undefined ? "" : String(data)}\n`
      )
  }
})

const server = http.createServer(toNodeListener(hub.webhook("test")))
server.keepAliveTimeout = 30_000
server.listen(port, "127.0.0.1", () => {
  process.stdout.write(`ready ${process.pid} ${port}\n`)
})

let closing = false
const shutdown = () => {
  if (closing) return
  closing = true
  server.close()
  server.closeAllConnections()
  hub.close().then(
    () => process.exit(0),
    () => process.exit(1)
  )
  setTimeout(() => process.exit(2), 5_000).unref()
}
process.on("SIGTERM", shutdown)
process.on("SIGINT", shutdown)
