import { StoreError } from "@dialogi/core"

// SQLSTATEs a retry can fix: serialization failure, deadlock, admin shutdown (a restart), and
// the whole connection-exception class 08.
const transientStates = new Set(["40001", "40P01", "57P01", "57P02", "57P03"])
const transientCodes = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN"])

/** Whether a driver error is one that retrying (on a new connection) can fix. */
export const isTransient = (error: unknown): boolean => {
  if (typeof error !== "object" || error === null) return false
  const code = (error as { code?: unknown }).code
  if (
    typeof code === "string" &&
    (transientStates.has(code) || code.startsWith("08") || transientCodes.has(code))
  )
    return true
  // A provider message id stored by a writer that ignored the ingest locks: retrying the batch
  // finds it and answers "duplicate" (see StoreTx.applyIngestWrites).
  if (code === "23505" && (error as { constraint?: unknown }).constraint === "dialogi_messages_provider_id")
    return true
  const message = String((error as { message?: unknown }).message ?? "")
  return /connection terminated|terminating connection|connection ended|not queryable|Connection terminated/i.test(
    message
  )
}

/** Wraps a driver error as the store's typed error, naming what failed. */
export const toStoreError = (operation: string, error: unknown): StoreError =>
  error instanceof StoreError
    ? error
    : new StoreError({
        message: `[dialogi/store-postgres] ${operation} failed: ${error instanceof Error ? error.message : String(error)}`,
        cause: error,
        transient: isTransient(error)
      })
