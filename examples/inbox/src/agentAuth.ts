import { createHash, createHmac, timingSafeEqual } from "node:crypto"
import type { IncomingMessage } from "node:http"
import { Redacted, Schema } from "effect"
import type { RosterAgent } from "./agentRoster.ts"

/**
 * An agent's id: what replies, notes, assignments and handoffs are recorded under. It is also
 * their routing participant id, so it follows core's RoutingId rules.
 */
export const AgentId = Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,39}$/))

/**
 * Who scripts with the shared token (`Authorization: Bearer <INBOX_TOKEN>`) act as: the
 * operator's key, so an admin, who sees every conversation. Nobody can sign in under this name.
 */
export const apiAgent = "api"

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
 * Agent sign-in. Agents of the roster sign in with their own token; anyone else with the
 * shared token, under the name they type. A session cookie is an HMAC over the agent id and
 * its issue time, keyed by the token that agent signs in with, so changing INBOX_TOKEN signs
 * out everybody who used it, changing one roster token signs out that agent, and no session
 * store is needed. It is HttpOnly and SameSite=Strict, which also keeps other sites from
 * making a signed-in browser post to the API.
 */
export const makeAgentAuth = (
  token: Redacted.Redacted<string>,
  roster: ReadonlyArray<RosterAgent> = [],
  now: () => number = Date.now
) => {
  const shared = Redacted.value(token)
  const own = new Map(roster.map((agent) => [agent.id, Redacted.value(agent.token)]))
  /** The token `agentId` signs in with: their own when listed, else the shared one. */
  const secretOf = (agentId: string) => own.get(agentId) ?? shared
  const mac = (secret: string, payload: string) =>
    createHmac("sha256", secret).update(`inbox-session\n${payload}`).digest("base64url")

  const sign = (agentId: string): string => {
    const payload = `${agentId}\n${Math.floor(now() / 1000)}`
    return `${Buffer.from(payload).toString("base64url")}.${mac(secretOf(agentId), payload)}`
  }

  const verify = (value: string | undefined): AgentSession | undefined => {
    if (value === undefined) return undefined
    const [encoded, signature, ...rest] = value.split(".")
    if (encoded === undefined || signature === undefined || rest.length > 0) return undefined
    const payload = Buffer.from(encoded, "base64url").toString()
    const [agentId, issued] = payload.split("\n")
    if (agentId === undefined || !sameSecret(mac(secretOf(agentId), payload), signature)) return undefined
    const age = now() / 1000 - Number(issued)
    if (!Number.isFinite(age) || age < 0 || age > sessionMaxAgeSeconds) return undefined
    return { agentId }
  }

  return {
    /**
     * Whether `candidate` signs `agentId` in (constant time): a roster agent's own token, or
     * the shared token for a name that is not on the roster.
     */
    tokenMatches: (agentId: string, candidate: string): boolean => sameSecret(candidate, secretOf(agentId)),
    /** The Set-Cookie header value that signs `agentId` in. */
    signInCookie: (agentId: string, secure: boolean): string =>
      `${sessionCookie}=${sign(agentId)}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${sessionMaxAgeSeconds}${secure ? "; Secure" : ""}`,
    signOutCookie: `${sessionCookie}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`,
    /**
     * The signed-in agent of a request: the session cookie, or `Authorization: Bearer <token>`
     * for scripts: the shared token acts as agent `api`, a roster agent's token as that agent.
     */
    sessionOf: (request: IncomingMessage): AgentSession | undefined => {
      const authorization = request.headers.authorization
      if (authorization?.startsWith("Bearer ")) {
        const candidate = authorization.slice(7).trim()
        if (sameSecret(candidate, shared)) return { agentId: apiAgent }
        // Every roster token is compared, so the answer takes the same time whoever matches.
        let match: string | undefined
        for (const [agentId, secret] of own) if (sameSecret(candidate, secret)) match = agentId
        return match === undefined ? undefined : { agentId: match }
      }
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
