// The chat bench's load generator, in a worker thread of the bench process: it opens and greets
// every visitor socket, then sends at the rate from random visitors and measures each message's
// ack ("stored"). The agent socket that measures "delivered" stays on the main thread, so the
// work of 10,000 visitor sockets does not delay the agent's clock readings. Times are epoch
// milliseconds with sub-millisecond precision, comparable across threads and processes.
import { monitorEventLoopDelay, performance } from "node:perf_hooks"
import { parentPort, workerData } from "node:worker_threads"
import { WebSocket } from "ws"
import { loopDelayMs } from "./serverStats.mjs"

const { url, sockets, connectConcurrency, rate, durationS, drainMs } = workerData
const now = () => performance.timeOrigin + performance.now()
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

const total = rate * durationS
const sentAt = new Float64Array(total)
const storedMs = []
// The visitor's own message coming back with its seq (dialogi reads it from history; the
// baseline relay sends none).
const echoedMs = []
let refused = 0

const openSocket = () =>
  new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { perMessageDeflate: false })
    socket.once("error", reject)
    socket.once("open", () => resolve(socket))
  })

// Connect and greet every visitor, `connectConcurrency` at a time.
const visitors = []
const connectStart = now()
let next = 0
const connectOne = async () => {
  while (next < sockets) {
    next += 1
    const socket = await openSocket()
    await new Promise((resolve, reject) => {
      socket.on("message", (data) => {
        const frame = JSON.parse(data.toString())
        if (frame.type === "welcome") resolve()
        else if (frame.type === "ack") storedMs.push(now() - sentAt[Number.parseInt(frame.id.slice(1), 36)])
        else if (frame.type === "message" && frame.clientId !== undefined)
          echoedMs.push(now() - sentAt[Number.parseInt(frame.clientId.slice(1), 36)])
        else if (frame.type === "error") refused += 1
      })
      socket.once("close", () => reject(new Error("visitor socket closed during hello")))
      socket.send(JSON.stringify({ type: "hello", v: 1, cursor: 0 }))
    })
    visitors.push(socket)
  }
}
await Promise.all(Array.from({ length: connectConcurrency }, connectOne))
parentPort.postMessage({ connected: visitors.length, connectS: (now() - connectStart) / 1000 })
await new Promise((resolve) => parentPort.once("message", resolve))

// Send `rate` messages per second for `duration` seconds. The text carries the send time, so
// the agent can measure delivery without asking this thread.
const loop = monitorEventLoopDelay({ resolution: 10 })
loop.enable()
const sendStart = now()
let sent = 0
while (sent < total) {
  const due = Math.min(total, Math.floor(((now() - sendStart) / 1000) * rate))
  for (; sent < due; sent++) {
    const socket = visitors[Math.floor(Math.random() * visitors.length)]
    const at = now()
    sentAt[sent] = at
    socket.send(
      JSON.stringify({
        type: "message",
        id: `b${sent.toString(36).padStart(8, "0")}`,
        text: `m${sent}@${at}`
      })
    )
  }
  await sleep(5)
}
const sendS = (now() - sendStart) / 1000
const drainStart = now()
// The drain waits for the echoes too where there are any, so their work counts in the window.
const echoing = () => echoedMs.length > 0
while (
  (storedMs.length + refused < total || (echoing() && echoedMs.length + refused < total)) &&
  now() - drainStart < drainMs
)
  await sleep(20)
loop.disable()
parentPort.postMessage({
  storedMs,
  echoedMs,
  refused,
  sendS,
  loopP99Ms: loopDelayMs(loop.percentile(99)),
  loopMaxMs: loopDelayMs(loop.max)
})
await new Promise((resolve) => parentPort.once("message", resolve))
for (const socket of visitors) socket.terminate()
parentPort.postMessage({ closed: true })
