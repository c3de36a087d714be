/**
 * `ChainOfThought`: a Predict whose signature gains a `reasoning` output before the others,
 * so that the model thinks step by step before answering.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import * as Demo from "./Demo.js"
import * as Predict from "./Predict.js"
import * as Signature from "./Signature.js"

/**
 * The `reasoning` field ChainOfThought adds.
 *
 * @since 0.1.0
 */
export const reasoningField = Schema.String.annotations({
  description: "Think step by step in order to produce the outputs."
})

/**
 * The signature a ChainOfThought over `S` answers.
 *
 * @since 0.1.0
 */
export type WithReasoning<S extends Signature.Any> = Signature.WithOutputFirst<S, "reasoning", typeof reasoningField>

/**
 * A ChainOfThought module over `S`: its output carries `reasoning`.
 *
 * @since 0.1.0
 */
export interface ChainOfThought<S extends Signature.Any> extends Predict.Predict<WithReasoning<S>> {}

/**
 * Adds the `reasoning` output to a signature.
 *
 * @since 0.1.0
 */
export const withReasoning = <S extends Signature.Any>(signature: S): WithReasoning<S> =>
  Signature.prependOutput(signature, "reasoning", reasoningField)

/**
 * Makes a ChainOfThought module.
 *
 * @example
 * ```ts
 * import { ChainOfThought, Signature } from "@effect-dspy/core"
 * const solve = ChainOfThought.make(Signature.fromString("problem -> answer: number"))
 * // solve({ problem: "..." }) : Effect<Prediction<{ reasoning: string; answer: number }>, ...>
 * ```
 *
 * @since 0.1.0
 */
export const make = <S extends Signature.Any>(
  signature: S,
  options?: Predict.Options<WithReasoning<S>>
): ChainOfThought<S> => {
  const extended = withReasoning(signature)
  return Predict.fromState(
    "ChainOfThought",
    extended,
    options?.name ?? signature.name,
    {
      instructions: options?.instructions ?? signature.instructions,
      demos: Demo.encodeAllOrThrow(extended, options?.demos ?? [])
    },
    Math.max(0, options?.maxParseRetries ?? 1),
    options?.n
  )
}
