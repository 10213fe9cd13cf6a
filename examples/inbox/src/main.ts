// The reference app: `pnpm demo` (README's first command) runs this. Configuration comes from
// the environment (see README.md); nothing is needed for a first run on embedded PGlite.
import { Redacted } from "effect"
import { loadInboxConfig } from "./config.ts"
import { startInbox } from "./startInbox.ts"

const print = (line = "") => process.stdout.write(`${line}\n`)

const config = await loadInboxConfig(process.env, process.cwd()).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error))
  process.exit(1)
})
const inbox = await startInbox(config)

print(`dialogi inbox is running (${inbox.storage})`)
print(`  customer page  ${inbox.url}/`)
if (config.demoCustomerEmail)
  print(`  signed-in shop ${inbox.url}/?signed-in  (as ${config.demoCustomerEmail})`)
print(`  agent inbox    ${inbox.url}/inbox`)
print(
  `  inbox token    ${Redacted.value(inbox.token)}${inbox.tokenFromDataDir ? `  (generated, kept in ${config.dataDir}; set INBOX_TOKEN to choose one)` : "  (INBOX_TOKEN)"}`
)
print(`  channels       ${inbox.channels.join(", ")}`)
for (const route of inbox.webhooks)
  print(`  webhook        ${config.publicUrl ?? inbox.url}${route.path}  (${route.channel})`)
print("Ctrl+C stops it; the conversation is kept for the next start.")

let stopping = false
const stop = (signal: string) => {
  if (stopping) return
  stopping = true
  print(`\n${signal}: closing`)
  inbox.close().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error)
      process.exit(1)
    }
  )
}
process.on("SIGINT", () => stop("SIGINT"))
process.on("SIGTERM", () => stop("SIGTERM"))
