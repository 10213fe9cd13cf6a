import type { ChannelAdapter } from "../adapter/ChannelAdapter.js"
import type { CsatOptions } from "../csat/CsatOptions.js"
import type { HookOptions } from "../hooks/Hook.js"
import type { RoutingOptions } from "./routing/RoutingOptions.js"
import type { SlaOptions } from "./sla/SlaOptions.js"

/** Options shared by both front doors (`Hub.layer` and `createHub`). */
export interface HubOptions {
  /** The channel adapters to plug in. */
  readonly adapters?: ReadonlyArray<ChannelAdapter> | undefined
  /** Region for phone numbers written without a country code, e.g. "FI". */
  readonly defaultRegion?: string | undefined
  /**
   * Group commit: concurrent ingests are written together in one transaction, up to this many
   * per transaction. 1 disables batching.
   */
  readonly maxIngestBatch?: number | undefined
  /** How many ingest transactions may run at once (database connections used for ingest). */
  readonly ingestConcurrency?: number | undefined
  /** Retries of outbound sends before a message is marked failed and its job dead-lettered. */
  readonly sendRetryLimit?: number | undefined
  /** First retry delay of a send; doubles per attempt with jitter. */
  readonly sendRetryDelayMs?: number | undefined
  /** Parallel sends per hub instance. */
  readonly sendConcurrency?: number | undefined
  /** Start the send worker in this instance (default true); API-only instances may turn it off. */
  readonly runWorkers?: boolean | undefined
  /**
   * Routing rules, strategies and handoff settings. With it, new conversations are routed
   * automatically; handoffs and callbacks work with or without it.
   */
  readonly routing?: RoutingOptions | undefined
  /**
   * Service levels: policies (first match wins), host predicates and the acknowledgement
   * template. Without it no clocks run. Instances with `runWorkers` fire SLA deadlines.
   */
  readonly sla?: SlaOptions | undefined
  /**
   * Blocking hooks before ingest and before send, each list run in order (see `HookOptions`
   * for what a veto and a failing hook do).
   */
  readonly hooks?: HookOptions | undefined
  /** Customer satisfaction surveys after a conversation is resolved. Without it none are sent. */
  readonly csat?: CsatOptions | undefined
  /** Receives adapter and worker log lines; default: warnings and errors to the console. */
  readonly log?:
    | ((level: "debug" | "info" | "warn" | "error", message: string, data?: unknown) => void)
    | undefined
}

/** The options with every default filled in. */
export interface ResolvedHubOptions {
  readonly adapters: ReadonlyArray<ChannelAdapter>
  readonly defaultRegion: string | undefined
  readonly maxIngestBatch: number
  readonly ingestConcurrency: number
  readonly sendRetryLimit: number
  readonly sendRetryDelayMs: number
  readonly sendConcurrency: number
  readonly runWorkers: boolean
  readonly routing: RoutingOptions | undefined
  readonly sla: SlaOptions | undefined
  readonly hooks: HookOptions
  readonly csat: CsatOptions | undefined
  readonly log: (level: "debug" | "info" | "warn" | "error", message: string, data?: unknown) => void
}

const consoleLog: ResolvedHubOptions["log"] = (level, message, data) => {
  if (level === "warn" || level === "error") console[level](`[dialogi] ${message}`, data ?? "")
}

/** Fills in defaults. */
export const resolveHubOptions = (options: HubOptions): ResolvedHubOptions => ({
  adapters: options.adapters ?? [],
  defaultRegion: options.defaultRegion,
  maxIngestBatch: Math.max(1, options.maxIngestBatch ?? 128),
  ingestConcurrency: Math.max(1, options.ingestConcurrency ?? 2),
  sendRetryLimit: Math.max(0, options.sendRetryLimit ?? 8),
  sendRetryDelayMs: Math.max(1, options.sendRetryDelayMs ?? 2_000),
  sendConcurrency: Math.max(1, options.sendConcurrency ?? 8),
  runWorkers: options.runWorkers ?? true,
  routing: options.routing,
  sla: options.sla,
  hooks: options.hooks ?? {},
  csat: options.csat,
  log: options.log ?? consoleLog
})
