/** Options of a {@link TokenBucket}. */
export interface RateLimit {
  /** How many may pass at once. */
  readonly burst: number
  /** Tokens refilled per second. */
  readonly perSecond: number
}

/**
 * A token bucket per connection: bursts up to `burst`, then `perSecond` on average. It says
 * how long to wait when empty so the error frame can tell the widget when to retry.
 */
export class TokenBucket {
  private tokens: number
  private last: number

  constructor(
    private readonly limit: RateLimit,
    private readonly now: () => number = Date.now
  ) {
    this.tokens = limit.burst
    this.last = now()
  }

  /** Takes one token; returns 0 when it passed, else the milliseconds until one is available. */
  take(): number {
    const now = this.now()
    this.tokens = Math.min(this.limit.burst, this.tokens + ((now - this.last) / 1000) * this.limit.perSecond)
    this.last = now
    if (this.tokens >= 1) {
      this.tokens -= 1
      return 0
    }
    return Math.ceil(((1 - this.tokens) / this.limit.perSecond) * 1000)
  }
}
