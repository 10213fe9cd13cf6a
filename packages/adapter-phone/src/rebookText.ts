/** Options of {@link callbackRebookText}. */
export interface RebookTextOptions {
  /** The host's page where the customer picks a new window. */
  readonly rebookUrl: string
  /** Said before the link; default "Sorry we could not reach you in the time you picked." */
  readonly apology?: string | undefined
}

/**
 * The text core sends when a callback was missed (`routing.rebookText` of `createHub`): an
 * apology and a link to the host's page for a new window. Kept to one GSM-7 segment's worth
 * when the URL is short, since it usually goes out by SMS.
 */
export const callbackRebookText =
  (options: RebookTextOptions) =>
  (_callback: { readonly window: { readonly from: Date; readonly to: Date } }): string =>
    `${options.apology ?? "Sorry we could not reach you in the time you picked."} Pick a new time: ${options.rebookUrl}`
