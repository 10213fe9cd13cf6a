/**
 * Whether Authentication-Results from a trusted server (RFC 8601) vouch for the From domain:
 * DMARC pass, or a DKIM pass whose signing domain is the From domain. The header is only
 * trusted when its authserv-id is one of ours: a sender can write any header it likes.
 */
export const senderVerified = (
  results: ReadonlyArray<string>,
  fromAddress: string,
  trustedAuthServIds: ReadonlyArray<string>
): boolean => {
  const domain = fromAddress.slice(fromAddress.lastIndexOf("@") + 1).toLowerCase()
  const trusted = new Set(trustedAuthServIds.map((id) => id.toLowerCase()))
  return results.some((value) => {
    const [servId, ...rest] = value.split(";")
    if (!trusted.has(servId!.trim().split(/\s+/)[0]!.toLowerCase())) return false
    return rest.some((clause) => {
      const c = clause.trim().toLowerCase()
      if (/^dmarc=pass\b/.test(c))
        return (
          new RegExp(`header\\.from=${domain.replace(/\./g, "\\.")}\\b`).test(c) || !/header\.from=/.test(c)
        )
      const dkim = /^dkim=pass\b.*\bheader\.d=([^\s;]+)/.exec(c)
      return dkim !== null && dkim[1] === domain
    })
  })
}
