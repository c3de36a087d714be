/**
 * `BestOfN`: runs a module up to N times (at temperature 1.0 with distinct rollout ids) and
 * keeps the first output whose reward reaches the threshold, or else the best one.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type { NoAcceptableAttempt } from "./DspyError.js"
import { type AttemptOptions, runAttempts } from "./internal/attempts.js"
import * as Module from "./Module.js"

export type {
  /**
   * Options shared by `BestOfN` and `Refine`: attempts, reward, threshold, failures tolerated.
   *
   * @since 0.1.0
   */
  AttemptOptions,
  /**
   * A reward: a number for an input and its output (higher is better); may be an Effect.
   *
   * @since 0.1.0
   */
  Reward
} from "./internal/attempts.js"

/**
 * Wraps a module in best-of-N sampling.
 *
 * @example
 * ```ts
 * import { BestOfN, Predict, Signature } from "@effect-dspy/core"
 * const qa = Predict.make(Signature.fromString("question -> answer"))
 * const oneWord = BestOfN.make(qa, {
 *   n: 3,
 *   threshold: 1,
 *   reward: (_input, output) => (output.answer.split(" ").length === 1 ? 1 : 0)
 * })
 * ```
 *
 * @since 0.1.0
 */
export const make = <I, O, E, R, RR = never>(
  module: Module.Module<I, O, E, R>,
  options: AttemptOptions<I, O, RR>
): Module.Module<I, O, E | NoAcceptableAttempt, R | RR> => {
  const name = options.name ?? module.name
  const noFeedback = () => Effect.succeed(<A, EA, RA>(self: Effect.Effect<A, EA, RA>) => self)
  return Module.fromFunction(
    (input: I) =>
      Module.instrument(
        { name, kind: "BestOfN", signature: module.signature?.name ?? name, input },
        runAttempts("BestOfN", module, options, input, noFeedback)
      ),
    {
      name,
      kind: "BestOfN",
      signature: module.signature,
      predictors: module.predictors,
      withState: (state) => make(module.withState(state), options)
    }
  )
}
