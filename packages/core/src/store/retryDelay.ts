import type { QueuePolicy } from "./Store.js"

/**
 * Delay before retry number `attempt` (1-based): fixed, or doubling with full jitter so that
 * many failed sends to one provider do not retry in lockstep. Capped at one hour.
 */
export const retryDelay = (policy: QueuePolicy, attempt: number): number => {
  if (!policy.backoff) return policy.retryDelayMs
  const ceiling = Math.min(3_600_000, policy.retryDelayMs * 2 ** Math.max(0, attempt - 1))
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2)
}
