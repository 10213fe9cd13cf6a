import { Effect, ParseResult, Schema } from "effect"
import type { Priority } from "../domain/Conversation.js"
import type { MessagePart } from "../domain/Message.js"
import { HookResult, type HookRun } from "./Hook.js"

const decodeResult = Schema.decodeUnknown(HookResult)

/** What a list of hooks made of a message. */
export interface HookOutcome {
  readonly parts: ReadonlyArray<MessagePart>
  readonly addTags: ReadonlyArray<string>
  readonly priority: Priority | undefined
  /** The hooks that changed the message or its conversation, in order. */
  readonly changedBy: ReadonlyArray<string>
  /** The first veto; hooks after it did not run. */
  readonly vetoed: { readonly hook: string; readonly reason: string } | undefined
  /** Hooks that failed, in order (only when failures do not stop the run). */
  readonly failures: ReadonlyArray<{ readonly hook: string; readonly message: string }>
}

/** A hook that failed, when failures stop the run. */
export interface HookFailure {
  readonly _tag: "HookFailure"
  readonly hook: string
  readonly message: string
}

const describe = (error: unknown): string =>
  ParseResult.isParseError(error)
    ? `returned something that is not a HookResult: ${ParseResult.TreeFormatter.formatErrorSync(error)}`
    : error instanceof Error
      ? error.message
      : String(error)

/** Runs one hook in whichever form it was written, as an Effect that fails with a message. */
const runOne = <C>(run: HookRun<C>, context: C): Effect.Effect<HookResult, string> =>
  Effect.suspend(() => {
    const out = run(context)
    const effect: Effect.Effect<unknown, unknown> = Effect.isEffect(out)
      ? out
      : out instanceof Promise
        ? Effect.tryPromise({ try: () => out, catch: (e) => e })
        : Effect.succeed(out)
    return Effect.flatMap(effect, (value) => decodeResult(value))
  }).pipe(
    // A hook that throws synchronously or dies is a failing hook, not a crashed hub.
    Effect.catchAllDefect((defect) => Effect.fail(defect)),
    Effect.mapError(describe)
  )

/**
 * Runs hooks in order, each seeing the parts the previous one left. A veto stops the run. A
 * failing hook either stops it (`onFailure: "stop"`, for sends: fail closed) or is recorded and
 * skipped (`"record"`, for ingest: the message is still stored).
 */
export const runHooks = <C>(
  hooks: ReadonlyArray<{ readonly name: string; readonly run: HookRun<C> }>,
  initialParts: ReadonlyArray<MessagePart>,
  contextFor: (parts: ReadonlyArray<MessagePart>) => C,
  onFailure: "stop" | "record"
): Effect.Effect<HookOutcome, HookFailure> =>
  Effect.gen(function* () {
    let parts = initialParts
    const addTags: string[] = []
    let priority: Priority | undefined
    const changedBy: string[] = []
    const failures: Array<{ hook: string; message: string }> = []
    for (const hook of hooks) {
      const result = yield* runOne(hook.run, contextFor(parts)).pipe(
        Effect.map((r) => ({ ok: true as const, r })),
        Effect.catchAll((message) =>
          onFailure === "stop"
            ? Effect.fail<HookFailure>({ _tag: "HookFailure", hook: hook.name, message })
            : Effect.succeed({ ok: false as const, message })
        )
      )
      if (!result.ok) {
        failures.push({ hook: hook.name, message: result.message })
        continue
      }
      const r = result.r
      if (r === undefined) continue
      if (r._tag === "veto")
        return {
          parts,
          addTags,
          priority,
          changedBy,
          vetoed: { hook: hook.name, reason: r.reason },
          failures
        }
      let changed = false
      if (r.parts !== undefined) {
        parts = r.parts
        changed = true
      }
      for (const tag of r.addTags ?? [])
        if (!addTags.includes(tag)) {
          addTags.push(tag)
          changed = true
        }
      if (r.priority !== undefined) {
        priority = r.priority
        changed = true
      }
      if (changed) changedBy.push(hook.name)
    }
    return { parts, addTags, priority, changedBy, vetoed: undefined, failures }
  })
