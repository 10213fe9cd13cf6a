import { createHash } from "node:crypto"

/**
 * The job id for a deduplication key: a name-based UUID (version 5 layout) of queue and key, so
 * that a second enqueue with the same key collides on pg-boss's primary key and is dropped.
 */
export const jobIdForKey = (queue: string, key: string): string => {
  const hash = createHash("sha1").update(`dialogi\u0000${queue}\u0000${key}`).digest()
  hash[6] = (hash[6]! & 0x0f) | 0x50
  hash[8] = (hash[8]! & 0x3f) | 0x80
  const hex = hash.subarray(0, 16).toString("hex")
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}
