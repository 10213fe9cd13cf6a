/**
 * The dialogi chat widget: one script tag, no framework.
 * `<script src="/widget.js" data-server="wss://support.example.com/chat" data-title="Support"></script>`
 * Optional signed identity: data-user-id, data-user-email, data-user-name, data-user-signature.
 * Everything is rendered with textContent, so nothing a message carries can become markup.
 */
import { styles } from "./styles.js"

interface ShownMessage {
  seq: number
  id: string
  clientId?: string
  author: string
  text: string
  at: number
}
interface Pending {
  id: string
  text: string
}
interface Saved {
  visitor?: string
  conversation?: { id: string; token: string }
  cursor: number
  messages: ShownMessage[]
  pending: Pending[]
}
// Frames are read loosely on purpose: the server is trusted and unknown fields are ignored.
// biome-ignore lint/suspicious/noExplicitAny: frames come from JSON.parse
type Frame = Record<string, any> & { type: string }

const script = document.currentScript as HTMLScriptElement | null
const data = script?.dataset ?? {}
const server = data.server ?? ""
const title = data.title ?? "Chat with us"
const storeKey = `dialogi-chat:${server}`
const keep = 200

const load = (): Saved => {
  try {
    const saved = JSON.parse(localStorage.getItem(storeKey) ?? "null") as Saved | null
    if (saved && typeof saved.cursor === "number" && Array.isArray(saved.messages)) return saved
  } catch {
    // Storage disabled or corrupt: start fresh.
  }
  return { cursor: 0, messages: [], pending: [] }
}
const state = load()
const save = () => {
  state.messages = state.messages.slice(-keep)
  try {
    localStorage.setItem(storeKey, JSON.stringify(state))
  } catch {
    // Private mode quota: the thread still works for this page view.
  }
}

const el = <K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  text?: string
): HTMLElementTagNameMap[K] => {
  const node = document.createElement(tag)
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value)
  if (text !== undefined) node.textContent = text
  return node
}

const host = el("div", { "data-dialogi-chat": "" })
const root = host.attachShadow({ mode: "open" })
const style = el("style", {}, styles)
const launcher = el("button", {
  type: "button",
  class: "launcher",
  "aria-label": "Open chat",
  "aria-expanded": "false",
  "aria-controls": "dialogi-panel"
})
// A constant icon (no emoji: many systems lack an emoji font). The only markup the widget writes.
launcher.innerHTML =
  '<svg aria-hidden="true" width="26" height="26" viewBox="0 0 24 24" fill="currentColor"><path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"/></svg>'
const panel = el("section", {
  id: "dialogi-panel",
  class: "panel",
  role: "dialog",
  "aria-label": title,
  hidden: ""
})
const header = el("header")
const heading = el("h2", {}, title)
const presence = el("p", { class: "presence" }, "")
const eta = el("p", { class: "eta", "aria-live": "polite", hidden: "" }, "")
const closeButton = el("button", { type: "button", class: "close", "aria-label": "Close chat" }, "×")
header.append(heading, presence, eta, closeButton)
const log = el("ol", {
  class: "log",
  role: "log",
  "aria-live": "polite",
  "aria-label": "Messages",
  tabindex: "0"
})
const typing = el("p", { class: "typing", hidden: "" }, "Agent is typing…")
const notice = el("p", { class: "notice", role: "status" })
const form = el("form")
const input = el("textarea", {
  rows: "2",
  "aria-label": "Message",
  placeholder: "Write a message…",
  maxlength: "4000"
})
const sendButton = el("button", { type: "submit", class: "send" }, "Send")
form.append(input, sendButton)
panel.append(header, log, typing, notice, form)
root.append(style, launcher, panel)

const rows = new Map<string, HTMLLIElement>()
const authorLabel: Record<string, string> = { visitor: "You", agent: "Agent", bot: "Bot", system: "Notice" }

const show = (key: string, author: string, text: string, status: string) => {
  let row = rows.get(key)
  if (!row) {
    row = el("li", { "data-author": author })
    row.append(
      el("span", { class: "who" }, authorLabel[author] ?? author),
      el("span", { class: "text" }),
      el("span", { class: "status" })
    )
    rows.set(key, row)
    log.append(row)
    log.scrollTop = log.scrollHeight
  }
  row.setAttribute("data-status", status)
  row.querySelector(".text")!.textContent = text
  row.querySelector(".status")!.textContent =
    status === "sending" ? "Sending…" : status === "failed" ? "Not sent" : ""
}

for (const message of state.messages)
  show(message.clientId ?? message.id, message.author, message.text, "sent")
for (const pending of state.pending) show(pending.id, "visitor", pending.text, "sending")

let socket: WebSocket | undefined
let ready = false
let attempt = 0
let pongTimer: ReturnType<typeof setTimeout> | undefined

const transmit = (frame: Frame) => {
  if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame))
}
const sendPending = (pending: Pending) => {
  if (ready) transmit({ type: "message", id: pending.id, text: pending.text })
}
const markRead = () => {
  if (!panel.hidden && state.cursor > 0) transmit({ type: "read", seq: state.cursor })
}

const identity = () =>
  data.userId === undefined
    ? undefined
    : {
        userId: data.userId,
        ...(data.userEmail ? { email: data.userEmail } : {}),
        ...(data.userName ? { name: data.userName } : {}),
        ...(data.userSignature ? { signature: data.userSignature } : {})
      }

const receive = (frame: Frame) => {
  switch (frame.type) {
    case "welcome":
      ready = true
      attempt = 0
      notice.textContent = ""
      if (frame.visitor) state.visitor = frame.visitor
      if (frame.conversation) state.conversation = frame.conversation
      presence.textContent = frame.agentsOnline ? "We're online" : "We'll reply as soon as we can"
      save()
      for (const pending of state.pending) sendPending(pending)
      markRead()
      return
    case "conversation":
      state.conversation = { id: frame.id, token: frame.token }
      save()
      return
    case "message": {
      // The cursor makes replays harmless: anything at or below it is already shown.
      if (frame.seq <= state.cursor) return
      const shown: ShownMessage = {
        seq: frame.seq,
        id: frame.id,
        ...(frame.clientId ? { clientId: frame.clientId } : {}),
        author: frame.author,
        text: frame.text,
        at: frame.at
      }
      state.pending = state.pending.filter((p) => p.id !== frame.clientId)
      state.messages.push(shown)
      state.cursor = frame.seq
      save()
      show(shown.clientId ?? shown.id, shown.author, shown.text, "sent")
      if (frame.author !== "visitor") typing.hidden = true
      markRead()
      return
    }
    case "ack": {
      // Stored on the server: never resend it, even if the echo is still on its way.
      const pending = state.pending.find((p) => p.id === frame.id)
      state.pending = state.pending.filter((p) => p.id !== frame.id)
      save()
      if (pending) show(pending.id, "visitor", pending.text, "sent")
      return
    }
    case "typing":
      typing.hidden = !frame.on
      return
    case "presence":
      presence.textContent = frame.online ? "We're online" : "We'll reply as soon as we can"
      return
    case "expected_reply": {
      // A due time already passed promises nothing useful, so it hides the line like "none".
      const due =
        typeof frame.dueAt === "number" && frame.dueAt > Date.now() ? new Date(frame.dueAt) : undefined
      eta.hidden = due === undefined
      eta.textContent = due
        ? `Expect a reply by ${due.toLocaleString(undefined, { weekday: "short", hour: "numeric", minute: "2-digit" })}`
        : ""
      return
    }
    case "pong":
      clearTimeout(pongTimer)
      return
    case "error": {
      const pending = state.pending.find((p) => p.id === frame.ref)
      if (pending && (frame.code === "rate_limited" || frame.code === "unavailable")) {
        setTimeout(() => sendPending(pending), frame.retryAfterMs ?? 2000)
      } else if (pending) {
        state.pending = state.pending.filter((p) => p !== pending)
        show(pending.id, "visitor", pending.text, "failed")
        notice.textContent = frame.message.replace("[dialogi/chat] ", "")
      } else if (frame.code === "bad_conversation") {
        delete state.conversation
        state.cursor = 0
      } else if (frame.code === "bad_identity" || frame.code === "blocked") {
        notice.textContent = "Chat is not available."
      }
      save()
    }
  }
}

const connect = () => {
  if (!server) return
  const ws = new WebSocket(server)
  socket = ws
  ws.onopen = () =>
    transmit({
      type: "hello",
      v: 1,
      cursor: state.conversation ? state.cursor : 0,
      ...(state.visitor ? { visitor: state.visitor } : {}),
      ...(state.conversation ? { conversation: state.conversation } : {}),
      ...(identity() ? { identity: identity() } : {})
    })
  ws.onmessage = (event) => {
    try {
      receive(JSON.parse(String(event.data)) as Frame)
    } catch {
      // A frame this widget version does not understand is skipped.
    }
  }
  ws.onclose = (event) => {
    ready = false
    if (socket !== ws) return
    if (event.code === 4003 || event.code === 4000) return
    // Exponential backoff with jitter so a restarted server is not hit by every tab at once.
    const delay = Math.min(30_000, 500 * 2 ** attempt) * (0.5 + Math.random() / 2)
    attempt += 1
    notice.textContent = attempt > 1 ? "Reconnecting…" : ""
    setTimeout(connect, delay)
  }
}

// Browsers hide WebSocket pings from pages, so the widget checks the link itself: no pong
// within 10 s means a dead connection that the browser has not noticed yet.
setInterval(() => {
  if (!ready) return
  transmit({ type: "ping" })
  clearTimeout(pongTimer)
  pongTimer = setTimeout(() => socket?.close(), 10_000)
}, 25_000)

const newId = () =>
  typeof crypto.randomUUID === "function"
    ? crypto.randomUUID().replace(/-/g, "")
    : `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 12)}`

const setOpen = (open: boolean) => {
  panel.hidden = !open
  launcher.setAttribute("aria-expanded", String(open))
  launcher.setAttribute("aria-label", open ? "Close chat" : "Open chat")
  if (open) {
    input.focus()
    markRead()
  } else launcher.focus()
}

let typingSent = 0
launcher.addEventListener("click", () => setOpen(panel.hidden))
closeButton.addEventListener("click", () => setOpen(false))
panel.addEventListener("keydown", (event) => {
  if (event.key === "Escape") setOpen(false)
})
input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault()
    form.requestSubmit()
  }
})
input.addEventListener("input", () => {
  if (Date.now() - typingSent > 3_000) {
    typingSent = Date.now()
    transmit({ type: "typing", on: true })
  }
})
form.addEventListener("submit", (event) => {
  event.preventDefault()
  const text = input.value.trim()
  if (!text) return
  const pending = { id: newId(), text }
  state.pending.push(pending)
  save()
  show(pending.id, "visitor", text, "sending")
  input.value = ""
  typingSent = 0
  sendPending(pending)
})

const mount = () => {
  document.body.append(host)
  connect()
}
if (document.body) mount()
else document.addEventListener("DOMContentLoaded", mount)
