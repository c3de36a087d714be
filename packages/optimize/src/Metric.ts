/**
 * Metrics score a prediction against an example: a number (higher is better) or a boolean
 * (pass/fail, counted as 1/0); they may be Effects (an LM judge is one).
 *
 * @since 0.1.0
 */
import { type Module, Predict, type Prediction, Signature } from "@effect-dspy/core"
import type * as LanguageModel from "@effect/ai/LanguageModel"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { Example } from "./Example.js"

/**
 * A metric over examples of `I`/`O`.
 *
 * @since 0.1.0
 */
export type Metric<I, O, E = never, R = never> = (
  example: Example<I, O>,
  prediction: Prediction.Prediction<O>
) => number | boolean | Effect.Effect<number | boolean, E, R>

/**
 * Runs a metric and normalises its score to a number.
 *
 * @since 0.1.0
 */
export const score = <I, O, E, R>(
  metric: Metric<I, O, E, R>,
  example: Example<I, O>,
  prediction: Prediction.Prediction<O>
): Effect.Effect<number, E, R> => {
  const result = metric(example, prediction)
  const asNumber = (value: number | boolean) => (typeof value === "boolean" ? (value ? 1 : 0) : value)
  return Effect.isEffect(result) ? Effect.map(result, asNumber) : Effect.succeed(asNumber(result))
}

const normalize = (value: unknown): string =>
  (typeof value === "string" ? value : JSON.stringify(value) ?? "").trim().toLowerCase().replace(/\s+/g, " ")

/**
 * 1 when the output field equals the expected one (strings compared case- and space-insensitively).
 *
 * @since 0.1.0
 */
export const exactMatch = <O>(field: keyof O & string) => <I>(example: Example<I, O>, prediction: Prediction.Prediction<O>): boolean =>
  normalize(prediction.output[field]) === normalize(example.expected[field])

/**
 * 1 when the output field contains the expected text.
 *
 * @since 0.1.0
 */
export const contains = <O>(field: keyof O & string) => <I>(example: Example<I, O>, prediction: Prediction.Prediction<O>): boolean =>
  normalize(prediction.output[field]).includes(normalize(example.expected[field]))

/**
 * 1 when the numeric output is within `tolerance` (absolute) of the expected number.
 *
 * @since 0.1.0
 */
export const numericTolerance = <O>(field: keyof O & string, tolerance: number) =>
<I>(example: Example<I, O>, prediction: Prediction.Prediction<O>): boolean => {
  const actual = Number(prediction.output[field])
  const expected = Number(example.expected[field])
  return Number.isFinite(actual) && Number.isFinite(expected) && Math.abs(actual - expected) <= tolerance
}

/**
 * The signature of the LM judge.
 *
 * @since 0.1.0
 */
export const Judge = Signature.make("Judge", {
  instructions:
    "Judge whether the predicted answer is correct given the expected answer. Be strict about facts and lenient about wording.",
  input: {
    question: Schema.String,
    expected: Schema.String,
    predicted: Schema.String
  },
  output: { correct: Schema.Boolean }
})

/**
 * A metric judged by a language model: itself a module (a Predict over `Judge`), so it can be
 * traced, given demos and optimized like any other.
 *
 * @since 0.1.0
 */
export const lmJudge = <I, O>(options: {
  readonly question: (input: I) => string
  readonly answer: (output: Partial<O>) => string
  readonly judge?:
    | Module.Module<Signature.Input<typeof Judge>, Signature.Output<typeof Judge>, Predict.PredictError, LanguageModel.LanguageModel>
    | undefined
}) => {
  const judge = options.judge ?? Predict.make(Judge)
  return (example: Example<I, O>, prediction: Prediction.Prediction<O>) =>
    Effect.map(
      judge({
        question: options.question(example.input),
        expected: options.answer(example.expected),
        predicted: options.answer(prediction.output)
      }),
      (verdict) => verdict.output.correct
    )
}
