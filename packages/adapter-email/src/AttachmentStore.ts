import { randomUUID } from "node:crypto"
import { mkdir, readFile, writeFile } from "node:fs/promises"
import { join } from "node:path"

/** One file to keep, as it came out of the mail. */
export interface AttachmentInput {
  readonly filename: string | undefined
  readonly contentType: string
  readonly content: Uint8Array
}

/**
 * Where attachment bytes go; the message keeps only the returned `ref`. Pluggable so a host can
 * put files in S3 or its own blob store: two methods, plain Promises.
 */
export interface AttachmentStore {
  readonly put: (attachment: AttachmentInput) => Promise<string>
  readonly get: (ref: string) => Promise<Uint8Array | undefined>
}

/** Keeps attachments in memory; for tests and short-lived demos. */
export const memoryAttachmentStore = (): AttachmentStore => {
  const files = new Map<string, Uint8Array>()
  return {
    put: async (a) => {
      const ref = `mem:${randomUUID()}`
      files.set(ref, a.content)
      return ref
    },
    get: async (ref) => files.get(ref)
  }
}

/** Keeps attachments as files under `directory` (the default store); refs are `file:<name>`. */
export const fileAttachmentStore = (directory: string): AttachmentStore => ({
  put: async (a) => {
    await mkdir(directory, { recursive: true })
    // Never the sender's filename on disk: it is attacker-chosen (../, NUL, reserved names).
    const name = randomUUID()
    await writeFile(join(directory, name), a.content)
    return `file:${name}`
  },
  get: async (ref) => {
    const name = ref.startsWith("file:") ? ref.slice(5) : undefined
    if (name === undefined || !/^[0-9a-f-]{36}$/.test(name)) return undefined
    return readFile(join(directory, name)).then(
      (b) => new Uint8Array(b),
      () => undefined
    )
  }
})
