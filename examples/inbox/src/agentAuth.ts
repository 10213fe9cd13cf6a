import { createHash, createHmac, timingSafeEqual } from "node:crypto"
import type { IncomingMessage } from "node:http"
import { Redacted, Schema } from "effect"

/**
 * An agent's id: what replies, notes, assignments and handoffs are recorded under. It is also
 * their routing participant id, so it follows core's RoutingId rules.
 */
export const AgentId = Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,39}$/))

/** Who is signed in. */
export interface AgentSession {
  readonly agentId: string
}

export const sessionCookie = "dialogi_inbox_session"
const sessionMaxAgeSeconds = 7 * 24 * 3600

const digest = (value: string) => createHash("sha256").update(value).digest()
const sameSecret = (a: string, b: string) => timingSafeEqual(digest(a), digest(b))

const cookieValue = (request: IncomingMessage, name: string): string | undefined => {
  for (const part of (request.headers.cookie ?? "").split(";")) {
    const eq = part.indexOf("=")
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return undefined
}

/**
 * Agent sign-in with one shared token. The session cookie is an HMAC keyed by the token over
 * the agent id and its issue time, so changing INBOX_TOKEN signs everybody out and no session
 * store is needed; it is HttpOnly and SameSite=Strict, which also keeps other sites from
 * making a signed-in browser post to the API.
 */
export const makeAgentAuth = (token: Redacted.Redacted<string>, now: () => number = Date.now) => {
  const secret = Redacted.value(token)
  const mac = (payload: string) =>
    createHmac("sha256", secret).update(`inbox-session\n${payload}`).digest("base64url")

  const sign = (agentId: string): string => {
    const payload = `${agentId}\n${Math.floor(now() / 1000)}`
    return `${Buffer.from(payload).toString("base64url")}.${mac(payload)}`
  }

  const verify = (value: string | undefined): AgentSession | undefined => {
    if (value === undefined) return undefined
    const [encoded, signature, ...rest] = value.split(".")
    if (encoded === undefined || signature === undefined || rest.length > 0) return undefined
    const payload = Buffer.from(encoded, "base64url").toString()
    if (!sameSecret(mac(payload), signature)) return undefined
    const [agentId, issued] = payload.split("\n")
    const age = now() / 1000 - Number(issued)
    if (agentId === undefined || !Number.isFinite(age) || age < 0 || age > sessionMaxAgeSeconds)
      return undefined
    return { agentId }
  }

  return {
    /** Whether a typed token is the configured one (constant time). */
    tokenMatches: (candidate: string): boolean => sameSecret(candidate, secret),
    /** The Set-Cookie header value that signs `agentId` in. */
    signInCookie: (agentId: string, secure: boolean): string =>
      `${sessionCookie}=${sign(agentId)}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${sessionMaxAgeSeconds}${secure ? "; Secure" : ""}`,
    signOutCookie: `${sessionCookie}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`,
    /**
     * The signed-in agent of a request: the session cookie, or `Authorization: Bearer <token>`
     * for scripts (recorded as agent "api").
     */
    sessionOf: (request: IncomingMessage): AgentSession | undefined => {
      const authorization = request.headers.authorization
      if (authorization?.startsWith("Bearer "))
        return sameSecret(authorization.slice(7).trim(), secret) ? { agentId: "api" } : undefined
      return verify(cookieValue(request, sessionCookie))
    }
  }
}

/** The agent sign-in functions. */
export type AgentAuth = ReturnType<typeof makeAgentAuth>

/**
 * Failed sign-ins per client address: a shared token is only as strong as the number of
 * guesses allowed, so after 10 failures in a minute that address waits.
 */
export const makeSignInLimiter = (now: () => number = Date.now) => {
  const failures = new Map<string, number[]>()
  const windowMs = 60_000
  const recent = (key: string) => (failures.get(key) ?? []).filter((t) => now() - t < windowMs)
  return {
    blocked: (key: string): boolean => recent(key).length >= 10,
    failed: (key: string): void => {
      failures.set(key, [...recent(key), now()])
    },
    succeeded: (key: string): void => {
      failures.delete(key)
    }
  }
}
