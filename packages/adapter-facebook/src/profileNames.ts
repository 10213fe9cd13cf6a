import type { ResolvedConfig, ResolvedPage } from "./config.js"
import { callGraph } from "./graphClient.js"

/** What the User Profile API told us about a person. */
export interface MessengerProfile {
  /** "First Last", as the person shows it on Facebook. */
  readonly name: string
  /** Meta's URL of the profile picture; it expires, so it is a hint, not a link to keep. */
  readonly profilePic: string | undefined
}

/**
 * The User Profile API (`GET /{version}/{PSID}?fields=first_name,last_name,profile_pic` with the
 * page token), asked at most once per person and process: the answer, a miss or a failure is
 * kept, so a person without a public profile (Meta's 2018218) or a timeout costs one call, not
 * one per message. A permission error (Meta's codes 10, 200, 230: the app lacks Business Asset
 * User Profile Access) stops lookups for the whole page.
 */
export interface ProfileNames {
  readonly lookup: (page: ResolvedPage, psid: string) => Promise<MessengerProfile | undefined>
}

const permissionCodes = new Set([10, 200, 230])

/** The fields asked for, as documented for the User Profile API. */
export const profileFields = "first_name,last_name,profile_pic"

/** Creates the lookup; remembers at most `limit` people (the oldest forgotten first). */
export const makeProfileNames = (
  config: ResolvedConfig,
  log: (message: string, data?: unknown) => void,
  limit = 100_000
): ProfileNames => {
  const known = new Map<string, Promise<MessengerProfile | undefined>>()
  const deniedPages = new Set<string>()

  const fetchProfile = async (page: ResolvedPage, psid: string): Promise<MessengerProfile | undefined> => {
    try {
      const response = await callGraph(config, page.pageAccessToken, "GET", psid, undefined, {
        fields: profileFields
      })
      if (!response.ok) {
        const code = response.error?.code
        if (code !== undefined && permissionCodes.has(code)) {
          deniedPages.add(page.pageId)
          log(`no permission to read profiles of page ${page.pageId}; not asking again`, { code })
        }
        return undefined
      }
      const { first_name: first, last_name: last, profile_pic: pic } = response.body
      const name = [first, last].filter((s): s is string => typeof s === "string" && s !== "").join(" ")
      // Meta answers `{}` for people whose profile the app may not see.
      return name === ""
        ? undefined
        : { name: name.slice(0, 256), profilePic: typeof pic === "string" ? pic : undefined }
    } catch (error) {
      log(`profile lookup failed for a person of page ${page.pageId}`, { error: String(error) })
      return undefined
    }
  }

  return {
    lookup: (page, psid) => {
      if (deniedPages.has(page.pageId)) return Promise.resolve(undefined)
      const key = `${page.pageId}:${psid}`
      const cached = known.get(key)
      if (cached) return cached
      const pending = fetchProfile(page, psid)
      known.set(key, pending)
      if (known.size > limit) {
        const oldest = known.keys().next().value
        if (oldest !== undefined) known.delete(oldest)
      }
      return pending
    }
  }
}
