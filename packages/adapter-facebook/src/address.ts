/**
 * A PSID is scoped to one page: the same person has a different PSID on every page, and two
 * pages may in theory hand out the same number. The dialogi address therefore carries the page:
 * `<pageId>:<psid>`, so identities of different pages never collide.
 */
export interface PageScopedId {
  readonly pageId: string
  readonly psid: string
}

/** Formats the dialogi address of a person on a page. */
export const formatAddress = (id: PageScopedId): string => `${id.pageId}:${id.psid}`

/** Reads a dialogi address back; undefined when it is not `<pageId>:<psid>`. */
export const parseAddress = (address: string): PageScopedId | undefined => {
  const match = /^(\d+):(\d+)$/.exec(address.trim())
  return match ? { pageId: match[1]!, psid: match[2]! } : undefined
}
