/** Escapes text for html content and double-quoted attributes. */
export const escapeHtml = (value: string): string => value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

/** Content-Security-Policy of the inbox pages: own scripts only, nothing remote. */
export const inboxCsp =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

/** The signed identity a host page puts on the widget's script tag. */
export interface WidgetIdentity {
  readonly userId: string
  readonly email: string
  readonly name: string
  readonly signature: string
}

/**
 * The demo shop: a plain page with the one-script-tag widget, as a customer's site would
 * embed it. With an identity it plays a shop whose user is signed in and vouched for.
 */
export const customerPage = (chatUrl: string, identity: WidgetIdentity | undefined): string => {
  const signed = identity
    ? ` data-user-id="${escapeHtml(identity.userId)}" data-user-email="${escapeHtml(identity.email)}" data-user-name="${escapeHtml(identity.name)}" data-user-signature="${escapeHtml(identity.signature)}"`
    : ""
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Demo shop</title><link rel="stylesheet" href="/assets/shop.css"></head>
<body><header><strong>Demo shop</strong>${identity ? ` <span class="who">signed in as ${escapeHtml(identity.email)}</span>` : ""}</header>
<main><h1>Questions about an order?</h1>
<p>Open the chat at the bottom right. An agent answers from the <a href="/inbox">inbox</a>; reload this page or restart the server and the conversation carries on.</p></main>
<script src="/widget.js" data-server="${escapeHtml(chatUrl)}" data-title="Support"${signed}></script>
</body></html>`
}

export const signInPage = (message: string | undefined): string => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Sign in · dialogi inbox</title><link rel="stylesheet" href="/assets/sign-in.css"></head>
<body><main><h1>dialogi inbox</h1>
<form method="post" action="/inbox/sign-in">
<label>Your name <input name="agent" required maxlength="40" autocomplete="username" value="agent"></label>
<label>Inbox token <input name="token" type="password" required autocomplete="current-password"></label>
${message ? `<p class="error" role="alert">${escapeHtml(message)}</p>` : ""}
<button type="submit">Sign in</button>
</form><p class="hint">The token is printed when the server starts (INBOX_TOKEN).</p></main></body></html>`

export const inboxPage = (agentId: string): string => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Inbox · dialogi</title><link rel="stylesheet" href="/inbox/assets/inbox.css"></head>
<body data-agent="${escapeHtml(agentId)}">
<header class="bar"><strong>dialogi inbox</strong>
<span class="live" id="live" role="status">connecting…</span>
<span class="me">${escapeHtml(agentId)}</span>
<form method="post" action="/inbox/sign-out"><button type="submit">Sign out</button></form></header>
<div class="layout">
<nav aria-label="Conversations"><label class="filter">Show <select id="filter">
<option value="open">open</option><option value="waiting_on_customer">waiting on customer</option>
<option value="snoozed">snoozed</option><option value="resolved">resolved</option><option value="all">all</option>
</select></label><ul id="conversations"></ul></nav>
<main id="thread"><p class="empty">Pick a conversation.</p></main>
</div>
<script type="module" src="/inbox/assets/inbox.js"></script></body></html>`
