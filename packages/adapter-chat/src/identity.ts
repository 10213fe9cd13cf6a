import { createHmac, randomBytes, timingSafeEqual } from "node:crypto"
import type { ConversationBinding, HostIdentity } from "./protocol.js"

/**
 * Signs a visitor's identity for the widget, on the host's server (never in the browser):
 * hex HMAC-SHA256 with the adapter secret over the user id, or over `userId + "\n" + email`
 * when the host also vouches for the email. Put the result in `data-user-signature`.
 * Covering the email matters: a signature over the user id alone would let a signed-in user
 * claim someone else's email address as verified and be linked to their thread.
 */
export const signIdentity = (
  secret: string,
  identity: { readonly userId: string; readonly email?: string | undefined }
): string =>
  createHmac("sha256", secret)
    .update(identity.email === undefined ? identity.userId : `${identity.userId}\n${identity.email}`)
    .digest("hex")

const equalText = (a: string, b: string): boolean => {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/** Who a connection speaks for, once its hello was checked. */
export interface Visitor {
  /** The chat address: `v_<random>` for anonymous visitors, `u_<userId>` for signed users. */
  readonly address: string
  /** The token the widget stores and presents on its next hello (anonymous visitors). */
  readonly token: string
  readonly verified: boolean
  readonly name: string | undefined
  /** Identities on other channels carried with every message this visitor sends. */
  readonly claims: ReadonlyArray<{
    readonly channel: string
    readonly address: string
    readonly verified: boolean
  }>
}

/** Why a hello's identity was refused. */
export type IdentityProblem = "bad_identity" | "bad_visitor"

/**
 * Tokens the adapter mints for itself (visitor ids, conversation bindings) use a key derived
 * from the secret, so that no host-signed user id can ever double as one of them.
 */
export const makeTokens = (secret: string) => {
  const internalKey = createHmac("sha256", secret).update("dialogi/chat internal tokens").digest()
  const mac = (text: string) => createHmac("sha256", internalKey).update(text).digest("base64url")

  const mintVisitor = (): Visitor => {
    const address = `v_${randomBytes(16).toString("base64url")}`
    return {
      address,
      token: `${address}.${mac(`visitor\n${address}`)}`,
      verified: false,
      name: undefined,
      claims: []
    }
  }

  const readVisitorToken = (token: string): string | undefined => {
    const dot = token.lastIndexOf(".")
    if (dot <= 0) return undefined
    const address = token.slice(0, dot)
    return address.startsWith("v_") && equalText(token.slice(dot + 1), mac(`visitor\n${address}`))
      ? address
      : undefined
  }

  return {
    /**
     * Resolves a hello to a visitor. A signed identity becomes a verified visitor whose email
     * claim is verified; an unsigned one stays anonymous and its email is only a claim that
     * core turns into a merge suggestion. A signature that does not verify is refused outright.
     */
    visitorOf: (
      visitorToken: string | undefined,
      identity: HostIdentity | undefined
    ): { readonly visitor: Visitor; readonly problem?: IdentityProblem } => {
      if (identity?.signature !== undefined) {
        const expected = signIdentity(secret, identity)
        if (!equalText(identity.signature.toLowerCase(), expected))
          return { visitor: mintVisitor(), problem: "bad_identity" }
        return {
          visitor: {
            address: `u_${identity.userId}`,
            token: "",
            verified: true,
            name: identity.name,
            claims:
              identity.email === undefined
                ? []
                : [{ channel: "email", address: identity.email, verified: true }]
          }
        }
      }
      const known = visitorToken === undefined ? undefined : readVisitorToken(visitorToken)
      const base =
        known === undefined ? mintVisitor() : { ...mintVisitor(), address: known, token: visitorToken! }
      const visitor: Visitor = {
        ...base,
        name: identity?.name,
        claims:
          identity?.email === undefined
            ? []
            : [{ channel: "email", address: identity.email, verified: false }]
      }
      return visitorToken !== undefined && known === undefined
        ? { visitor, problem: "bad_visitor" }
        : { visitor }
    },
    /** Proof, handed to the widget, that a conversation belongs to a visitor. */
    bindConversation: (address: string, conversationId: string): ConversationBinding => ({
      id: conversationId,
      token: mac(`conversation\n${address}\n${conversationId}`)
    }),
    checkConversation: (address: string, binding: ConversationBinding): boolean =>
      equalText(binding.token, mac(`conversation\n${address}\n${binding.id}`))
  }
}

/** The token helpers of one adapter. */
export type Tokens = ReturnType<typeof makeTokens>
