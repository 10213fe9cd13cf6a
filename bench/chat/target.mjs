// One side of `pnpm bench chat`, in its own process so that its RSS is its own:
//   dialogi  - createHub on PostgreSQL (or PGlite) + @dialogi/adapter-chat on a node http server;
//              visitors' messages are acked after commit, an "agent" socket at /agent gets every
//              message.received from the hub's event stream (what the inbox's SSE does).
//   baseline - a plain `ws` relay: the same /chat and /agent sockets, a message is acked and
//              forwarded at once, nothing is stored.
// The parent talks to it over IPC: {cmd:"rss"} -> {rss}, {cmd:"stop"} -> final result.
import { createServer } from "node:http"
import { createChatAdapter, hubFanOut, hubHistory } from "@dialogi/adapter-chat"
import { createHub } from "@dialogi/core"
import { pgliteStore, postgresStore } from "@dialogi/store-postgres"
import { WebSocketServer } from "ws"
import { makeServerStats } from "./serverStats.mjs"

const settings = JSON.parse(process.env.BENCH_TARGET)
const stats = makeServerStats({
  connectionString: settings.target === "dialogi" ? settings.connectionString : undefined,
  database: settings.connectionString && new URL(settings.connectionString).pathname.slice(1)
})
const server = createServer((_req, res) => res.writeHead(404).end())
server.keepAliveTimeout = 1
const agents = new Set()
const agentServer = new WebSocketServer({ noServer: true, perMessageDeflate: false })
// Messages handed over in one tick (dialogi: a page of the event stream) leave in one write per
// agent socket, as a server-sent-events response would buffer them.
let agentsCorked = false
const toAgents = (text) => {
  if (!agentsCorked) {
    agentsCorked = true
    for (const socket of agents) socket._socket?.cork()
    process.nextTick(() => {
      agentsCorked = false
      for (const socket of agents) socket._socket?.uncork()
    })
  }
  for (const socket of agents) socket.send(text)
}
const upgradeAgent = (req, socket, head) =>
  agentServer.handleUpgrade(req, socket, head, (ws) => {
    agents.add(ws)
    ws.on("close", () => agents.delete(ws))
  })

let stop = async () => {}

if (settings.target === "dialogi") {
  const store =
    settings.store === "pglite"
      ? await pgliteStore({ dataDir: settings.dataDir })
      : await postgresStore({ connectionString: settings.connectionString, pool: { max: settings.pool } })
  let hub
  const chat = createChatAdapter({
    secret: "bench-chat-secret-0123456789",
    history: process.env.BENCH_CHAT_NO_ECHO === "1" ? async () => [] : hubHistory(() => hub),
    // Following the event log brings a visitor's own message back (the echo) without a history
    // read; BENCH_CHAT_NO_FOLLOW=1 measures the adapter without it (one read per echo).
    ...(process.env.BENCH_CHAT_NO_FOLLOW === "1" ? {} : { fanOut: hubFanOut(() => hub) }),
    // 10,000 sockets on one host: the per-socket limits stay, with room for the bench's rate.
    messageRate: { burst: 20, perSecond: 5 }
  })
  // The adapter's context with ingest timed where the adapter awaits it.
  const timedChat = {
    ...chat,
    start: (context) => chat.start({ ...context, ingest: stats.timeIngest(context.ingest) })
  }
  hub = await createHub({
    store,
    adapters: [timedChat],
    ingestConcurrency: settings.ingestConcurrency,
    maxIngestBatch: settings.maxIngestBatch,
    log: () => undefined
  })
  const events = hub.events.subscribe(0)
  const following = (async () => {
    for await (const event of events)
      if (event.body._tag === "message.received") {
        const message = event.body.message
        const text = message.parts[0]?._tag === "text" ? message.parts[0].text : ""
        stats.streamed(message.providerMessageId)
        toAgents(text)
      }
  })().catch(() => undefined)
  server.on("upgrade", (req, socket, head) => {
    if (req.url === "/agent") upgradeAgent(req, socket, head)
    else if (!chat.handleUpgrade(req, socket, head)) socket.destroy()
  })
  stop = async () => {
    events.close()
    await following
    await hub.close()
  }
} else {
  const visitors = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 64 * 1024 })
  let counter = 0
  visitors.on("connection", (ws) => {
    ws.on("message", (data) => {
      let frame
      try {
        frame = JSON.parse(data.toString())
      } catch {
        return
      }
      if (frame.type === "hello") ws.send(JSON.stringify({ type: "welcome", v: 1, visitor: `b${counter++}` }))
      else if (frame.type === "message") {
        stats.count()
        ws.send(JSON.stringify({ type: "ack", id: frame.id, duplicate: false }))
        toAgents(frame.text)
      }
    })
    ws.on("error", () => undefined)
  })
  server.on("upgrade", (req, socket, head) => {
    if (req.url === "/agent") upgradeAgent(req, socket, head)
    else if (req.url === "/chat")
      visitors.handleUpgrade(req, socket, head, (ws) => visitors.emit("connection", ws))
    else socket.destroy()
  })
}

server.listen(0, "127.0.0.1", () => process.send({ ready: true, port: server.address().port }))
process.on("message", async (message) => {
  if (message.cmd === "rss") process.send({ rss: process.memoryUsage().rss })
  if (message.cmd === "mark") process.send(await stats.mark())
  if (message.cmd === "stats") process.send(await stats.stats())
  if (message.cmd === "stop") {
    server.closeAllConnections()
    await stop()
    await stats.close()
    process.send({ done: true, maxRssMb: process.resourceUsage().maxRSS / 1024 })
    process.exit(0)
  }
})
