/** The widget's styles, scoped by its shadow root so host pages and the widget leave each other alone. */
export const styles = `
:host{all:initial}
*{box-sizing:border-box;font:14px/1.4 system-ui,sans-serif}
button{cursor:pointer}
button:focus-visible,textarea:focus-visible,.log:focus-visible{outline:3px solid #1d4ed8;outline-offset:2px}
.launcher{position:fixed;right:16px;bottom:16px;width:56px;height:56px;border-radius:50%;border:0;background:#1d4ed8;color:#fff;font-size:24px;box-shadow:0 4px 12px #0004;z-index:2147483646}
.panel{position:fixed;right:8px;bottom:80px;width:min(380px,calc(100vw - 16px));height:min(560px,calc(100vh - 96px));display:flex;flex-direction:column;background:#fff;color:#111;border-radius:12px;box-shadow:0 8px 24px #0005;overflow:hidden;z-index:2147483647}
.panel[hidden]{display:none}
header{display:grid;grid-template-columns:1fr auto;padding:12px 14px;background:#1d4ed8;color:#fff}
h2{margin:0;font-weight:600;font-size:16px}
.presence{grid-row:2;margin:0;font-size:12px;opacity:.9}
.eta{grid-row:3;margin:0;font-size:12px}
.eta[hidden]{display:none}
.close{grid-row:1/4;grid-column:2;background:none;border:0;color:#fff;font-size:24px;line-height:1}
.log{flex:1;margin:0;padding:12px;list-style:none;overflow-y:auto;display:flex;flex-direction:column;gap:8px}
.log li{max-width:85%;padding:8px 10px;border-radius:10px;background:#f1f5f9;white-space:pre-wrap;overflow-wrap:anywhere}
.log li[data-author=visitor]{align-self:flex-end;background:#dbeafe}
.who{display:block;font-size:11px;color:#475569}
.status{display:block;font-size:11px;color:#64748b}
.status:empty{display:none}
li[data-status=failed] .status{color:#b91c1c}
.typing,.notice{margin:0 12px;font-size:12px;color:#475569}
.notice:empty{display:none}
form{display:flex;gap:8px;padding:10px;border-top:1px solid #e2e8f0}
textarea{flex:1;min-width:0;resize:none;padding:8px;border:1px solid #94a3b8;border-radius:8px}
.send{padding:0 14px;border:0;border-radius:8px;background:#1d4ed8;color:#fff}
`
