// The agent inbox page. Plain browser JavaScript, no framework and no build step. Everything
// a customer or a mail wrote is put into the page with textContent, never as markup; mail
// html is shown only inside a sandboxed iframe whose document the server built.

const listEl = document.getElementById("conversations")
const threadEl = document.getElementById("thread")
const filterEl = document.getElementById("filter")
const liveEl = document.getElementById("live")
const me = document.body.dataset.agent ?? "agent"

const state = {
  selected: undefined,
  cursor: 0,
  rows: [],
  thread: undefined,
  threadError: undefined,
  draft: ""
}

const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag)
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue
    node.setAttribute(name, value === true ? "" : String(value))
  }
  for (const child of children) node.append(child)
  return node
}

const api = async (path, body) => {
  const response = await fetch(`/inbox/api${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin"
  })
  if (response.status === 401) {
    location.href = "/inbox/sign-in"
    throw new Error("signed out")
  }
  const data = await response.json().catch(() => ({}))
  if (!response.ok) throw new Error(data.error ?? `request failed (${response.status})`)
  return data
}

const statusLabel = (status) => status.replace(/_/g, " ")
const assigneeLabel = (a) =>
  a._tag === "none" ? "unassigned" : a._tag === "agent" ? a.id : `${a._tag} ${a.id}`
const time = (ms) => new Date(ms).toLocaleString([], { dateStyle: "short", timeStyle: "short" })
const badge = (channel) => el("span", { class: `badge ${channel}`, "data-badge": channel }, channel)

const duration = (ms) => {
  const minutes = Math.round(Math.abs(ms) / 60_000)
  if (minutes < 60) return `${minutes}m`
  const hours = Math.floor(minutes / 60)
  return hours < 48 ? `${hours}h ${minutes % 60}m` : `${Math.floor(hours / 24)}d ${hours % 24}h`
}

/** The SLA countdown, only when the hub has an SLA engine and a clock runs. */
const slaBadge = (due) => {
  if (!due) return ""
  if (due.paused || typeof due.dueAt !== "number")
    return el("span", { class: "sla", "data-sla": "paused" }, "SLA paused")
  const left = due.dueAt - Date.now()
  return el(
    "span",
    {
      class: left < 0 || due.breached ? "sla overdue" : "sla",
      "data-sla-due": due.dueAt,
      title: new Date(due.dueAt).toString()
    },
    left < 0 ? `reply overdue ${duration(left)}` : `reply due in ${duration(left)}`
  )
}

const renderList = () => {
  listEl.replaceChildren(
    ...state.rows.map((row) => {
      const item = el(
        "li",
        {
          tabindex: 0,
          "data-conversation-id": row.id,
          "aria-current": row.id === state.selected ? "true" : "false"
        },
        el(
          "div",
          { class: "row-top" },
          el("strong", {}, row.contact.name),
          row.lastChannel ? badge(row.lastChannel) : ""
        ),
        el(
          "div",
          { class: "row-meta" },
          el("span", { "data-status": row.status }, statusLabel(row.status)),
          el("span", { "data-assignee": assigneeLabel(row.assignee) }, `· ${assigneeLabel(row.assignee)}`),
          el("span", {}, `· ${time(row.lastMessageAt)}`),
          slaBadge(row.replyDue)
        )
      )
      const open = () => select(row.id)
      item.addEventListener("click", open)
      item.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault()
          open()
        }
      })
      return item
    })
  )
  if (state.rows.length === 0) listEl.append(el("li", { class: "empty" }, "No conversations here."))
}

const partNode = (part) => {
  switch (part.kind) {
    case "text":
      return el("div", { class: "text" }, part.text)
    case "html": {
      // sandbox="" : no scripts, an opaque origin, no popups, no top navigation. The srcdoc
      // carries its own CSP (nothing remote loads) and was sanitized on the server.
      const frame = el("iframe", {
        class: "mail",
        sandbox: "",
        referrerpolicy: "no-referrer",
        title: "Mail content"
      })
      frame.srcdoc = part.frame
      return frame
    }
    case "attachment":
      return el("div", { class: "text" }, `📎 ${part.name} (${part.contentType})`)
    case "voice":
      return el(
        "div",
        { class: "text" },
        `🎙 voicemail${part.seconds ? ` ${Math.round(part.seconds)} s` : ""}${part.transcript ? `: ${part.transcript}` : ""}`
      )
    case "call":
      return el(
        "div",
        { class: "text" },
        `📞 call ${part.event}${part.seconds ? ` (${Math.round(part.seconds)} s)` : ""}`
      )
    default:
      return el("div", { class: "text" }, "[unsupported part]")
  }
}

const messageNode = (m) =>
  el(
    "li",
    {
      class: "message",
      "data-message-id": m.id,
      "data-direction": m.direction,
      "data-channel": m.channel,
      "data-internal": String(m.internal)
    },
    el(
      "div",
      { class: "meta" },
      badge(m.internal ? "note" : m.channel),
      el("span", {}, m.author),
      el("span", {}, time(m.at)),
      m.direction === "outbound" && !m.internal
        ? el("span", { "data-delivery": m.status, title: m.statusReason ?? "" }, m.status)
        : ""
    ),
    ...m.parts.map(partNode)
  )

const post = async (path, body, errorEl) => {
  errorEl.textContent = ""
  try {
    await api(`/conversations/${state.selected}${path}`, body)
    await refresh()
    return true
  } catch (error) {
    errorEl.textContent = error.message
    return false
  }
}

const decide = async (handoffId, verb, errorEl) => {
  errorEl.textContent = ""
  try {
    await api(`/handoffs/${handoffId}/${verb}`, verb === "decline" ? { reason: "declined in the inbox" } : {})
    await refresh()
  } catch (error) {
    errorEl.textContent = error.message
  }
}

const renderThread = () => {
  const view = state.thread
  if (!view) {
    threadEl.replaceChildren(
      state.threadError
        ? el("p", { class: "empty", "data-thread-error": "" }, state.threadError)
        : el("p", { class: "empty" }, "Pick a conversation.")
    )
    return
  }
  const c = view.conversation
  const error = el("p", { class: "error", role: "alert" })

  const status = el(
    "select",
    { "aria-label": "Status", id: "status" },
    ...["open", "waiting_on_customer", "snoozed", "resolved"].map((s) =>
      el("option", { value: s, selected: s === c.status }, statusLabel(s))
    )
  )
  status.addEventListener("change", () => post("/status", { status: status.value }, error))

  const assigneeKind = el(
    "select",
    { "aria-label": "Assign to" },
    ...["agent", "team", "bot"].map((k) => el("option", { value: k, selected: c.assignee._tag === k }, k))
  )
  const assigneeId = el("input", {
    "aria-label": "Assignee",
    placeholder: "name",
    size: 12,
    value: c.assignee._tag === "none" ? me : c.assignee.id
  })
  const assign = el("button", { type: "button" }, "Assign")
  assign.addEventListener("click", () =>
    post("/assign", { assignee: { _tag: assigneeKind.value, id: assigneeId.value.trim() } }, error)
  )
  const unassign = el("button", { type: "button" }, "Unassign")
  unassign.addEventListener("click", () => post("/assign", { assignee: { _tag: "none" } }, error))

  const head = el(
    "div",
    { class: "thread-head" },
    el("h2", {}, c.contact.name),
    el(
      "div",
      { class: "identities" },
      view.identities
        .map((i) => `${i.channel}: ${i.address}${i.verified ? " ✓" : " (unverified)"}`)
        .join(" · ")
    ),
    el("label", {}, "Status ", status),
    el("span", { "data-assignee": assigneeLabel(c.assignee) }, `Assigned: ${assigneeLabel(c.assignee)}`),
    assigneeKind,
    assigneeId,
    assign,
    unassign,
    slaBadge(c.replyDue)
  )

  // Handoffs: who it was passed to and why; the receiver accepts or declines here.
  const handoffs = el(
    "div",
    { class: "handoffs" },
    ...view.handoffs
      .filter((h) => h.state === "requested" || Date.now() - h.requestedAt < 3_600_000)
      .map((h) => {
        const row = el(
          "div",
          { class: "handoff", "data-handoff-id": h.id, "data-state": h.state },
          `Handoff to ${h.to} (${h.state}) — ${h.reason}${h.note ? ` — note: ${h.note}` : ""}${h.requestedBy ? ` — by ${h.requestedBy}` : ""}`
        )
        if (h.state === "requested") {
          const accept = el("button", { type: "button", "data-action": "accept" }, "Accept")
          accept.addEventListener("click", () => decide(h.id, "accept", error))
          const decline = el("button", { type: "button", "data-action": "decline" }, "Decline")
          decline.addEventListener("click", () => decide(h.id, "decline", error))
          row.append(" ", accept, " ", decline)
        }
        return row
      })
  )
  const target = el(
    "select",
    { "aria-label": "Hand off to", id: "handoff-to" },
    el(
      "optgroup",
      { label: "Teams" },
      ...view.handoffTargets.teams.map((t) => el("option", { value: `team:${t}` }, t))
    ),
    el(
      "optgroup",
      { label: "Agents and bots" },
      ...view.handoffTargets.participants
        .filter((p) => p.id !== me)
        .map((p) => el("option", { value: `${p.kind}:${p.id}` }, `${p.id} (${p.availability})`))
    )
  )
  const reason = el("input", {
    "aria-label": "Handoff reason",
    id: "handoff-reason",
    placeholder: "reason",
    size: 18
  })
  const handoffNote = el("input", {
    "aria-label": "Handoff note",
    id: "handoff-note",
    placeholder: "note for the receiver",
    size: 24
  })
  const handOff = el("button", { type: "button", id: "hand-off" }, "Hand off")
  handOff.addEventListener("click", () => {
    const [kind, ...rest] = target.value.split(":")
    post(
      "/handoff",
      {
        to: { _tag: kind, id: rest.join(":") },
        reason: reason.value,
        ...(handoffNote.value ? { note: handoffNote.value } : {})
      },
      error
    )
  })
  const handoffForm = el("div", { class: "handoff-form" }, target, reason, handoffNote, handOff)

  const messages = el(
    "ol",
    { class: "messages", "aria-label": "Thread", "aria-live": "polite" },
    ...view.messages.map(messageNode)
  )

  // The picker: "customer's last channel" first, then every channel with why it is unavailable.
  const channel = el(
    "select",
    { "aria-label": "Reply channel", id: "reply-channel" },
    el(
      "option",
      { value: "" },
      view.defaultChannel ? `${view.defaultChannel} (customer's last channel)` : "customer's last channel"
    ),
    ...view.channels.map((ch) =>
      el(
        "option",
        { value: ch.channel, disabled: !ch.available, "data-reason": ch.reason },
        ch.available ? ch.channel : `${ch.channel} — ${ch.reason}`
      )
    )
  )
  const why = el(
    "span",
    { class: "why", id: "channel-why" },
    view.defaultRefusal ? `Default channel unavailable: ${view.defaultRefusal}` : ""
  )
  const text = el("textarea", {
    "aria-label": "Reply",
    id: "reply-text",
    placeholder: "Write a reply or an internal note"
  })
  text.value = state.draft
  text.addEventListener("input", () => {
    state.draft = text.value
  })
  const send = el("button", { type: "button", id: "send-reply" }, "Send reply")
  const note = el("button", { type: "button", id: "add-note" }, "Add internal note")
  const submit = async (path, body) => {
    const written = text.value
    if (!written.trim()) return
    // Cleared before the refresh re-renders the composer; put back if the server refused it.
    state.draft = ""
    if (!(await post(path, body, error))) {
      state.draft = written
      const current = document.getElementById("reply-text")
      if (current) current.value = written
    }
  }
  send.addEventListener("click", () =>
    submit("/reply", { text: text.value, ...(channel.value ? { channel: channel.value } : {}) })
  )
  note.addEventListener("click", () => submit("/note", { text: text.value }))
  text.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) send.click()
  })

  const composer = el(
    "div",
    { class: "composer" },
    text,
    el("div", { class: "actions" }, el("label", {}, "Reply on ", channel), send, note, why),
    error
  )
  const focused = document.activeElement?.id
  head.append(handoffs, handoffForm)
  threadEl.replaceChildren(head, messages, composer)
  messages.scrollTop = messages.scrollHeight
  if (focused === "reply-text") text.focus()
}

// Re-rendering replaces the thread's nodes (mail frames reload, the caret moves), so a
// refresh that brings nothing new leaves the page alone.
let shownList = ""
let shownThread = ""

const loadList = async () => {
  const data = await api(`/conversations?status=${encodeURIComponent(filterEl.value)}`)
  const json = JSON.stringify([data.items, state.selected])
  if (json !== shownList) {
    shownList = json
    state.rows = data.items
    renderList()
  }
  return data.cursor
}

const loadThread = async () => {
  if (!state.selected) return
  try {
    state.thread = await api(`/conversations/${state.selected}`)
    state.threadError = undefined
  } catch (error) {
    state.thread = undefined
    // The server answers the same for a conversation of another team as for none at all.
    state.threadError = error.message === "not found" ? "No such conversation in your teams." : undefined
  }
  const json = JSON.stringify([state.thread ?? null, state.threadError ?? null])
  if (json === shownThread) return
  shownThread = json
  renderThread()
}

const select = async (id) => {
  if (state.selected !== id) state.draft = ""
  state.selected = id
  history.replaceState(null, "", `#${id}`)
  renderList()
  await loadThread()
}

const refresh = async () => {
  const cursor = await loadList()
  await loadThread()
  return cursor
}

// Live updates: the server streams the hub's event log (SSE, resumable by Last-Event-ID);
// each change only triggers a re-read, batched so a burst of events costs one refresh.
let pending
const scheduleRefresh = () => {
  clearTimeout(pending)
  pending = setTimeout(() => refresh().catch(() => {}), 100)
}

const listen = (cursor) => {
  const events = new EventSource(`/inbox/api/events?after=${cursor}`)
  events.addEventListener("change", scheduleRefresh)
  events.onopen = () => {
    liveEl.textContent = "live"
    liveEl.classList.add("on")
    // After a reconnect (server restart) re-read everything once.
    scheduleRefresh()
  }
  events.onerror = () => {
    liveEl.textContent = "reconnecting…"
    liveEl.classList.remove("on")
  }
}

filterEl.addEventListener("change", () => loadList())
setInterval(() => {
  for (const node of document.querySelectorAll("[data-sla-due]")) {
    const left = Number(node.getAttribute("data-sla-due")) - Date.now()
    node.textContent = left < 0 ? `reply overdue ${duration(left)}` : `reply due in ${duration(left)}`
    node.className = left < 0 ? "sla overdue" : "sla"
  }
}, 30_000)

// Links to a conversation (inbox#<id>) open it, also when only the hash changes.
addEventListener("hashchange", () => {
  const id = location.hash.slice(1)
  if (id && id !== state.selected) select(id)
})
state.selected = location.hash.slice(1) || undefined
listen(await refresh())
