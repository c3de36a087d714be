/**
 * What a module call returns: the typed output, the usage of every LM call it made, and the
 * trace of every predictor call (used by optimizers to bootstrap demos).
 *
 * @since 0.1.0
 */
import type * as Arr from "effect/Array"
import type * as NearMiss from "./NearMiss.js"
import type * as Usage from "./Usage.js"

/**
 * One predictor call inside a module call.
 *
 * @since 0.1.0
 */
export interface TraceEntry {
  /** Identity of the predictor instance that made the call (see `Module.predictors`). */
  readonly predictorId: symbol
  readonly signature: string
  /** Inputs and outputs in encoded (JSON-safe) form. */
  readonly inputs: Readonly<Record<string, unknown>>
  readonly outputs: Readonly<Record<string, unknown>>
  /** What the adapter forgave in the reply (empty when the model wrote exactly what was asked). */
  readonly nearMisses: ReadonlyArray<NearMiss.NearMiss>
}

/**
 * The result of a module call.
 *
 * @since 0.1.0
 */
export interface Prediction<O> {
  readonly output: O
  readonly usage: Usage.Usage
  readonly trace: ReadonlyArray<TraceEntry>
  /**
   * Every completion, the first being `output` (DSPy's `completions`), when a `Predict` was
   * asked for `n > 1` (`LmConfig.n` or its `n` option); absent for one. Read it with
   * `Prediction.completions`, which gives `[output]` then.
   *
   * @since 0.2.0
   */
  readonly completions?: Arr.NonEmptyReadonlyArray<O> | undefined
}

/**
 * Every completion of a prediction, the first being its output.
 *
 * @since 0.2.0
 * @example
 * ```ts
 * import { LmConfig, Prediction, Predict, Signature } from "@effect-dspy/core"
 * import { Effect } from "effect"
 *
 * const qa = Predict.make(Signature.fromString("question -> answer"))
 * const five = Effect.map(
 *   qa({ question: "Name a color" }).pipe(LmConfig.withSettings({ n: 5 })),
 *   (prediction) => Prediction.completions(prediction).map((c) => c.answer)
 * )
 * ```
 */
export const completions = <O>(prediction: Prediction<O>): Arr.NonEmptyReadonlyArray<O> =>
  prediction.completions ?? [prediction.output]
