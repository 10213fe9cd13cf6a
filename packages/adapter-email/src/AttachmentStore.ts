import { randomUUID } from "node:crypto"
import { mkdir, readFile, rm, writeFile } from "node:fs/promises"
import { join } from "node:path"

/** One file to keep, as it came out of the mail. */
export interface AttachmentInput {
  readonly filename: string | undefined
  readonly contentType: string
  readonly content: Uint8Array
}

/**
 * Where attachment bytes go; the message keeps only the returned `ref`. Pluggable so a host can
 * put files in S3 or its own blob store: plain Promises, `delete` optional.
 */
export interface AttachmentStore {
  readonly put: (attachment: AttachmentInput) => Promise<string>
  readonly get: (ref: string) => Promise<Uint8Array | undefined>
  /**
   * Removes a file no message refers to. Files are written before the hub decides on a mail, so
   * a mail an ingest hook vetoes, a duplicate, or one the hub refuses leaves files behind unless
   * the store can delete them. Deleting an unknown ref is not an error.
   */
  readonly delete?: (ref: string) => Promise<void>
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
    get: async (ref) => files.get(ref),
    delete: async (ref) => {
      files.delete(ref)
    }
  }
}

// Only names this store made: a ref is data from the message store, never a path to follow.
const fileName = (ref: string) => {
  const name = ref.startsWith("file:") ? ref.slice(5) : undefined
  return name !== undefined && /^[0-9a-f-]{36}$/.test(name) ? name : undefined
}

/** Keeps attachments as files under `directory` (the default store); refs are `file:<name>`. */
export const fileAttachmentStore = (directory: string): AttachmentStore => {
  // Made once per store, not per file: a mkdir per attachment cost a syscall round trip each.
  // A failed mkdir is not kept, so the next put tries again.
  let ready: Promise<unknown> | undefined
  const directoryReady = () => {
    ready ??= mkdir(directory, { recursive: true }).catch((e: unknown) => {
      ready = undefined
      throw e
    })
    return ready
  }
  return {
    put: async (a) => {
      await directoryReady()
      // Never the sender's filename on disk: it is attacker-chosen (../, NUL, reserved names).
      const name = randomUUID()
      const path = join(directory, name)
      await writeFile(path, a.content).catch(async (e: NodeJS.ErrnoException) => {
        // The directory was removed under us (a cleanup job): make it again, once.
        if (e.code !== "ENOENT") throw e
        ready = undefined
        await directoryReady()
        await writeFile(path, a.content)
      })
      return `file:${name}`
    },
    get: async (ref) => {
      const name = fileName(ref)
      if (name === undefined) return undefined
      return readFile(join(directory, name)).then(
        (b) => new Uint8Array(b),
        () => undefined
      )
    },
    delete: async (ref) => {
      const name = fileName(ref)
      if (name !== undefined) await rm(join(directory, name), { force: true })
    }
  }
}
