/**
 * `Refine`: like BestOfN, but after an attempt below the threshold the model is asked for
 * advice on how to do better, and the advice is appended to the instructions of the next attempt.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { NoAcceptableAttempt } from "./DspyError.js"
import { type AttemptOptions, runAttempts } from "./internal/attempts.js"
import * as Module from "./Module.js"
import * as Predict from "./Predict.js"
import * as Signature from "./Signature.js"
import type * as LanguageModel from "@effect/ai/LanguageModel"

const Feedback = Signature.make("OfferFeedback", {
  instructions:
    "A program was run on the inputs below and produced the outputs below, which scored below the threshold of a reward function. Give short, concrete advice that would help the program do better on these inputs next time.",
  input: {
    program_inputs: Schema.Unknown.annotations({ description: "The inputs the program was given (JSON)" }),
    program_outputs: Schema.Unknown.annotations({ description: "The outputs the program produced (JSON)" }),
    reward: Schema.Number,
    threshold: Schema.Number
  },
  output: {
    advice: Schema.String.annotations({ description: "Advice for the next attempt" })
  }
})

/**
 * Wraps a module in refinement with feedback.
 *
 * @example
 * ```ts
 * import { ChainOfThought, Refine, Signature } from "@effect-dspy/core"
 * const solve = ChainOfThought.make(Signature.fromString("problem -> answer: number"))
 * const refined = Refine.make(solve, { n: 3, threshold: 1, reward: (_i, o) => (o.answer >= 0 ? 1 : 0) })
 * ```
 *
 * @since 0.1.0
 */
export const make = <I, O, E, R, RR = never>(
  module: Module.Module<I, O, E, R>,
  options: AttemptOptions<I, O, RR>
): Module.Module<I, O, E | NoAcceptableAttempt | Predict.PredictError, R | RR | LanguageModel.LanguageModel> => {
  const name = options.name ?? module.name
  const feedback = Predict.make(Feedback, { name: `${name}.feedback` })
  return Module.fromFunction(
    (input: I) =>
      Module.instrument(
        { name, kind: "Refine", signature: module.signature?.name ?? name, input },
        runAttempts("Refine", module, options, input, ({ output, reward }) =>
          Effect.map(
            feedback({ program_inputs: input, program_outputs: output, reward, threshold: options.threshold }),
            (advice) => <A, EA, RA>(self: Effect.Effect<A, EA, RA>) =>
              Effect.provideService(self, Predict.InstructionHint, `Advice from a previous attempt: ${advice.output.advice}`)
          ))
      ),
    {
      name,
      kind: "Refine",
      signature: module.signature,
      predictors: module.predictors,
      withState: (state) => make(module.withState(state), options)
    }
  )
}
