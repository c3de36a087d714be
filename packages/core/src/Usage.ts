/**
 * Token usage and LM call counts, per prediction and summed over a program run.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { UsageTrackers } from "./internal/usageTrackers.js"

/**
 * Usage of one or more LM calls (a plain object: it is made on every call).
 *
 * @since 0.1.0
 */
export const Usage = Schema.Struct({
  inputTokens: Schema.Number,
  outputTokens: Schema.Number,
  totalTokens: Schema.Number,
  cachedInputTokens: Schema.Number,
  reasoningTokens: Schema.Number,
  /** Calls that reached the model. */
  lmCalls: Schema.Number,
  /**
   * Calls answered by `LmCache` (no tokens paid: their tokens count 0, as in DSPy). Absent in
   * usage saved before 0.2.0, read as 0.
   *
   * @since 0.2.0
   */
  cachedCalls: Schema.optionalWith(Schema.Number, { default: () => 0 })
})
/**
 * Usage of one or more LM calls.
 *
 * @since 0.1.0
 */
export interface Usage extends Schema.Schema.Type<typeof Usage> {}

/**
 * No usage.
 *
 * @since 0.1.0
 */
export const empty: Usage = {
  inputTokens: 0,
  outputTokens: 0,
  totalTokens: 0,
  cachedInputTokens: 0,
  reasoningTokens: 0,
  lmCalls: 0,
  cachedCalls: 0
}

/**
 * Sums two usages.
 *
 * @since 0.1.0
 */
export const add = (a: Usage, b: Usage): Usage => ({
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    totalTokens: a.totalTokens + b.totalTokens,
    cachedInputTokens: a.cachedInputTokens + b.cachedInputTokens,
    reasoningTokens: a.reasoningTokens + b.reasoningTokens,
    lmCalls: a.lmCalls + b.lmCalls,
    cachedCalls: a.cachedCalls + b.cachedCalls
})

/**
 * Sums many usages.
 *
 * @since 0.1.0
 */
export const sum = (usages: Iterable<Usage>): Usage => {
  let total = empty
  for (const u of usages) total = add(total, u)
  return total
}

/**
 * The usage of a single LM call, from `@effect/ai`'s response usage (absent numbers count as 0);
 * a reply from `LmCache` (`cached`) is a cached call with no tokens.
 *
 * @since 0.1.0
 */
export const fromResponse = (usage: {
  readonly inputTokens?: number | undefined
  readonly outputTokens?: number | undefined
  readonly totalTokens?: number | undefined
  readonly cachedInputTokens?: number | undefined
  readonly reasoningTokens?: number | undefined
}, cached = false): Usage => {
  if (cached) return cachedCall
  const input = usage.inputTokens ?? 0
  const output = usage.outputTokens ?? 0
  return {
    inputTokens: input,
    outputTokens: output,
    totalTokens: usage.totalTokens ?? input + output,
    cachedInputTokens: usage.cachedInputTokens ?? 0,
    reasoningTokens: usage.reasoningTokens ?? 0,
    lmCalls: 1,
    cachedCalls: 0
  }
}

const cachedCall: Usage = { ...empty, cachedCalls: 1 }

/**
 * Runs a program and returns its result with the total usage of every LM call it made.
 *
 * @example
 * ```ts
 * import { Usage } from "@effect-dspy/core"
 * import { Effect } from "effect"
 * const program = Effect.succeed("answer")
 * const withUsage = Usage.track(program) // Effect<[string, Usage]>
 * ```
 *
 * @since 0.1.0
 */
export const track = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<readonly [A, Usage], E, R> =>
  Effect.suspend(() => {
    let total = empty
    return self.pipe(
      observe((usage) => {
        total = add(total, usage)
      }),
      Effect.map((a) => [a, total] as const)
    )
  })

/**
 * Runs an effect calling `onUsage` with the usage of each LM call it makes (in nested modules
 * too) as the call ends: for a running total that can be read while the effect runs (an
 * optimizer's budget, a progress line). `track` is built on it.
 *
 * @example
 * ```ts
 * import { Usage } from "@effect-dspy/core"
 * import { Effect } from "effect"
 *
 * let spent = Usage.empty
 * const program = Effect.succeed("answer").pipe(Usage.observe((usage) => {
 *   spent = Usage.add(spent, usage)
 * }))
 * ```
 *
 * @since 0.2.0
 */
export const observe = (onUsage: (usage: Usage) => void) => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(UsageTrackers, (trackers) => Effect.provideService(self, UsageTrackers, [...trackers, onUsage]))
