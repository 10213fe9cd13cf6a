import { mkdir, rename, writeFile } from "node:fs/promises"
import { dirname, join, resolve } from "node:path"
import { pathToFileURL } from "node:url"

/** One file to keep: the key is stable for the same provider file, so a retry overwrites. */
export interface AttachmentInput {
  /** `<MessageSid>/<index>.<ext>`: letters, digits, `_`, `-`, `.` and one `/`. */
  readonly key: string
  readonly contentType: string
  readonly body: Uint8Array
}

/**
 * Where inbound media are copied, so the thread keeps them after Twilio deletes its copy and
 * without the account's credentials. The store decides what the ref looks like (a file URL,
 * an object-store key, a URL of the host's own download route).
 */
export interface AttachmentStore {
  readonly put: (input: AttachmentInput) => Promise<{ readonly ref: string }>
}

/**
 * Files under `directory`, written whole (write + rename) so a reader never sees half a file;
 * the ref is the file's `file:` URL.
 */
export const fileAttachmentStore = (directory: string): AttachmentStore => ({
  put: async ({ key, body }) => {
    if (!/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_.-]+)?$/.test(key) || key.includes(".."))
      throw new Error(`[dialogi/phone] attachment key not allowed: ${key}`)
    const target = resolve(join(directory, key))
    await mkdir(dirname(target), { recursive: true })
    const temp = `${target}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`
    await writeFile(temp, body)
    await rename(temp, target)
    return { ref: pathToFileURL(target).href }
  }
})
