import type { RoutingRule } from "../../routing/RoutingRule.js"
import { builtInStrategies, type RoutingStrategy } from "../../routing/RoutingStrategy.js"

/** The `routing` option of the hub (both front doors). */
export interface RoutingOptions {
  /** Rules choosing a team for a new conversation; the first match wins. */
  readonly rules?: ReadonlyArray<RoutingRule> | undefined
  /** The team for conversations no rule matches; without one they stay unassigned. */
  readonly defaultTeam?: string | undefined
  /** Route new conversations automatically (default true when `routing` is given). */
  readonly autoRoute?: boolean | undefined
  /** Host strategies by name; a team selects one with `strategy: "<name>"`. */
  readonly strategies?: Readonly<Record<string, RoutingStrategy>> | undefined
  /** How long a handoff waits for acceptance before it expires and is re-routed; default 120,000 ms. */
  readonly handoffAcceptMs?: number | undefined
  /** Messages in a handoff's transcript summary; default 10. */
  readonly transcriptMessages?: number | undefined
  /**
   * How often every team queue is looked at again, in ms (default 15,000): picks up agents
   * whose working hours began and anything a missed trigger left waiting.
   */
  readonly sweepMs?: number | undefined
  /** The text that offers a new window after a missed callback. */
  readonly rebookText?:
    | ((callback: { readonly window: { readonly from: Date; readonly to: Date } }) => string)
    | undefined
}

/** The routing options with defaults filled in. */
export interface ResolvedRoutingOptions {
  readonly rules: ReadonlyArray<RoutingRule>
  readonly defaultTeam: string | undefined
  readonly autoRoute: boolean
  readonly strategies: Readonly<Record<string, RoutingStrategy>>
  readonly handoffAcceptMs: number
  readonly transcriptMessages: number
  readonly sweepMs: number
  readonly rebookText: (callback: { readonly window: { readonly from: Date; readonly to: Date } }) => string
}

const defaultRebookText = () =>
  "Sorry we missed you at the time you picked. Reply with a time that suits you and we will call you back then."

/** Fills in defaults; `undefined` (no `routing` option) still gives working handoffs and callbacks. */
export const resolveRoutingOptions = (options: RoutingOptions | undefined): ResolvedRoutingOptions => ({
  rules: options?.rules ?? [],
  defaultTeam: options?.defaultTeam,
  autoRoute: options !== undefined && (options.autoRoute ?? true),
  strategies: { ...builtInStrategies, ...options?.strategies },
  handoffAcceptMs: Math.max(1, options?.handoffAcceptMs ?? 120_000),
  transcriptMessages: Math.min(200, Math.max(0, options?.transcriptMessages ?? 10)),
  sweepMs: Math.max(100, options?.sweepMs ?? 15_000),
  rebookText: options?.rebookText ?? defaultRebookText
})
