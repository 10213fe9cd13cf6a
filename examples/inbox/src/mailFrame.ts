import { sanitizeMailHtml } from "@dialogi/adapter-email"

/**
 * The policy of the frame a mail is shown in: nothing may load or run. Inline styles stay
 * (mail layout needs them) and `data:` images (inline logos); remote images, fonts, CSS url()
 * fetches, forms and scripts are all refused, so opening a mail tells its sender nothing.
 */
export const mailFrameCsp =
  "default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src 'none'; media-src 'none'; form-action 'none'; base-uri 'none'"

const escapeAttribute = (value: string) => value.replace(/&/g, "&amp;").replace(/"/g, "&quot;")

/**
 * The frame document around html that is already safe to show: the second wall. Exported on
 * its own so a test can put unsanitized html in it and see that the frame alone holds.
 */
export const mailFrameShell = (safeHtml: string): string =>
  `<!doctype html><html><head><meta charset="utf-8">` +
  `<meta http-equiv="Content-Security-Policy" content="${escapeAttribute(mailFrameCsp)}">` +
  `<meta name="referrer" content="no-referrer">` +
  `<style>body{font:14px/1.45 system-ui,sans-serif;margin:8px;color:#1d2430;overflow-wrap:anywhere}img{max-width:100%;height:auto}</style>` +
  `</head><body>${safeHtml}</body></html>`

/**
 * The `srcdoc` of the sandboxed iframe that shows one html part. Core stores html parts as
 * adapters gave them (the email adapter sanitizes at ingest; another adapter or a host calling
 * `hub.ingest` may not), so the html is sanitized again here, and the frame is the second
 * wall: the inbox renders it with `sandbox=""` (no scripts, an opaque origin, no navigation of
 * the inbox) under {@link mailFrameCsp}.
 */
export const mailFrameDocument = (html: string): string => mailFrameShell(sanitizeMailHtml(html))
