import { randomBytes } from "node:crypto"
import { mkdir, readFile, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { Redacted, Schema } from "effect"

const SavedSecrets = Schema.Struct({
  inboxToken: Schema.String.pipe(Schema.minLength(16)),
  chatSecret: Schema.String.pipe(Schema.minLength(16))
})
const decodeSaved = Schema.decodeUnknownEither(Schema.parseJson(SavedSecrets))

/** The secrets the operator did not set, and whether they were made up just now. */
export interface GeneratedSecrets {
  readonly inboxToken: Redacted.Redacted<string>
  readonly chatSecret: Redacted.Redacted<string>
  readonly createdNow: boolean
}

/**
 * Secrets for a first run without setup. They are kept in the data directory (mode 0600) and
 * reused: a chat secret that changed on restart would invalidate every visitor's signed id,
 * and a new token would sign every agent out, which is exactly what a restart must not do.
 */
export const loadOrCreateSecrets = async (dataDir: string): Promise<GeneratedSecrets> => {
  const file = join(dataDir, "generated-secrets.json")
  const saved = await readFile(file, "utf8").then(
    (text) => decodeSaved(text),
    () => undefined
  )
  if (saved?._tag === "Right")
    return {
      inboxToken: Redacted.make(saved.right.inboxToken),
      chatSecret: Redacted.make(saved.right.chatSecret),
      createdNow: false
    }
  const fresh = {
    inboxToken: randomBytes(18).toString("base64url"),
    chatSecret: randomBytes(32).toString("base64url")
  }
  await mkdir(dataDir, { recursive: true })
  await writeFile(file, JSON.stringify(fresh), { mode: 0o600 })
  return {
    inboxToken: Redacted.make(fresh.inboxToken),
    chatSecret: Redacted.make(fresh.chatSecret),
    createdNow: true
  }
}
