import * as Effect from "effect/Effect"
import { NoAcceptableAttempt } from "../DspyError.js"
import * as LmConfig from "../LmConfig.js"
import type * as Module from "../Module.js"
import { errorTag } from "./describe.js"

/** A reward: a number for an input and its output (higher is better); may be an Effect. */
export type Reward<I, O, R> = (input: I, output: O) => number | Effect.Effect<number, never, R>

/** Options shared by BestOfN and Refine. */
export interface AttemptOptions<I, O, R> {
  readonly name?: string | undefined
  /** How many attempts at most. */
  readonly n: number
  readonly reward: Reward<I, O, R>
  /** Stop at the first attempt whose reward reaches this. */
  readonly threshold: number
  /** How many failed attempts to tolerate before failing (default: n, i.e. fail only when all fail). */
  readonly failCount?: number | undefined
  /** Temperature of the attempts (default 1.0, so that attempts differ). */
  readonly temperature?: number | undefined
}

const rewardOf = <I, O, R>(reward: Reward<I, O, R>, input: I, output: O): Effect.Effect<number, never, R> => {
  const value = reward(input, output)
  return typeof value === "number" ? Effect.succeed(value) : value
}

/**
 * Runs up to `n` attempts of `module`; returns the first output that reaches the threshold,
 * else the best. `between` runs after each attempt below the threshold and gives the wrapper
 * for the next attempt (Refine passes feedback this way).
 */
export const runAttempts = <I, O, E, R, RR, E2, R2>(
  kind: string,
  module: Module.Module<I, O, E, R>,
  options: AttemptOptions<I, O, RR>,
  input: I,
  between: (
    attempt: { readonly output: O; readonly reward: number }
  ) => Effect.Effect<<A, EA, RA>(self: Effect.Effect<A, EA, RA>) => Effect.Effect<A, EA, RA>, E2, R2>
): Effect.Effect<O, E | NoAcceptableAttempt | E2, R | RR | R2> =>
  Effect.gen(function*() {
    const n = Math.max(1, options.n)
    const failCount = options.failCount ?? n
    let best: { readonly output: O; readonly reward: number } | undefined
    let failures = 0
    let lastError: E | undefined
    let wrap: <A, EA, RA>(self: Effect.Effect<A, EA, RA>) => Effect.Effect<A, EA, RA> = (self) => self
    // Each attempt is a rollout of its own (DSPy's `rollout_id`), counted from the one in force,
    // so that a cache keeps the attempts apart and nested samplers do not collide.
    const base = (yield* LmConfig.LmConfig).rolloutId ?? 0
    for (let i = 0; i < n; i++) {
      const attempt = yield* module(input).pipe(
        wrap,
        LmConfig.withSettings({ rolloutId: base + i, temperature: options.temperature ?? 1.0 }),
        Effect.either
      )
      if (attempt._tag === "Left") {
        failures++
        lastError = attempt.left
        if (failures > failCount) return yield* Effect.fail(attempt.left)
        continue
      }
      const output = attempt.right.output
      const reward = yield* rewardOf(options.reward, input, output)
      if (best === undefined || reward > best.reward) best = { output, reward }
      if (reward >= options.threshold) return output
      if (i + 1 < n) wrap = yield* between({ output, reward })
    }
    if (best !== undefined) return best.output
    return yield* new NoAcceptableAttempt({
      module: `${kind}(${module.name})`,
      attempts: n,
      reason: `all ${failures} attempts failed; the last with ${errorTag(lastError)}`
    })
  })
