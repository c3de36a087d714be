/**
 * Metrics score a prediction against an example: a number (higher is better), a boolean
 * (pass/fail, counted as 1/0), or a score with textual feedback (what GEPA reflects on); they
 * may be Effects (an LM judge is one).
 *
 * @since 0.1.0
 */
import { Aggregation, type Module, Predict, type Prediction, Signature } from "@effect-dspy/core"
import type * as LanguageModel from "@effect/ai/LanguageModel"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { Example } from "./Example.js"
import { InvalidLabel } from "./OptimizeError.js"

/**
 * A score with feedback: why the prediction earned it, in words a reflecting model can act on.
 *
 * @since 0.2.0
 */
export interface ScoreWithFeedback {
  readonly score: number
  readonly feedback: string
}

/**
 * What a metric may return.
 *
 * @since 0.2.0
 */
export type Value = number | boolean | ScoreWithFeedback

/**
 * What an optimizer tells a metric about the call. GEPA sets `predictor` to the path of the
 * predictor it is about to rewrite, so a metric can give feedback for that step alone.
 *
 * @since 0.2.0
 */
export interface Context {
  readonly predictor?: string | undefined
}

/**
 * A metric over examples of `I`/`O`.
 *
 * @since 0.1.0
 */
export type Metric<I, O, E = never, R = never> = (
  example: Example<I, O>,
  prediction: Prediction.Prediction<O>,
  context?: Context
) => Value | Effect.Effect<Value, E, R>

/**
 * A metric's verdict, read: the score as a number and the feedback when the metric gave one.
 *
 * @since 0.2.0
 */
export interface Verdict {
  readonly score: number
  readonly feedback: string | undefined
}

/**
 * A score with feedback, for metrics written for GEPA.
 *
 * @since 0.2.0
 * @example
 * ```ts
 * import { Metric } from "@effect-dspy/optimize"
 * const metric: Metric.Metric<{ q: string }, { answer: number }> = (example, prediction) =>
 *   prediction.output.answer === example.expected.answer
 *     ? Metric.withFeedback(1, "correct")
 *     : Metric.withFeedback(0, `expected ${example.expected.answer}, got ${prediction.output.answer}`)
 * ```
 */
export const withFeedback = (score: number, feedback: string): ScoreWithFeedback => ({ score, feedback })

const read = (value: Value): Verdict =>
  typeof value === "boolean"
    ? { score: value ? 1 : 0, feedback: undefined }
    : typeof value === "number"
    ? { score: value, feedback: undefined }
    : { score: value.score, feedback: value.feedback }

/**
 * Runs a metric and reads its score and feedback.
 *
 * @since 0.2.0
 */
export const verdict = <I, O, E, R>(
  metric: Metric<I, O, E, R>,
  example: Example<I, O>,
  prediction: Prediction.Prediction<O>,
  context?: Context
): Effect.Effect<Verdict, E, R> =>
  Effect.suspend(() => {
    const result = metric(example, prediction, context)
    return Effect.isEffect(result) ? Effect.map(result, read) : Effect.succeed(read(result))
  })

/**
 * Runs a metric and normalises its score to a number.
 *
 * @since 0.1.0
 */
export const score = <I, O, E, R>(
  metric: Metric<I, O, E, R>,
  example: Example<I, O>,
  prediction: Prediction.Prediction<O>
): Effect.Effect<number, E, R> => Effect.map(verdict(metric, example, prediction), (v) => v.score)

/**
 * DSPy's answer normalization: Unicode NFD, lowercase, ASCII punctuation removed, the articles
 * "a", "an" and "the" removed, whitespace collapsed (core's `Aggregation.normalizeText`, which
 * `Aggregation.majority` votes with).
 *
 * @since 0.2.0
 * @example
 * ```ts
 * import { Metric } from "@effect-dspy/optimize"
 * Metric.normalizeText("The,  Eiffel  Tower!") // "eiffel tower"
 * ```
 */
export const normalizeText: (text: string) => string = Aggregation.normalizeText

const asText = (value: unknown): string => typeof value === "string" ? value : JSON.stringify(value) ?? ""

/**
 * Options of the answer metrics.
 *
 * @since 0.2.0
 */
export interface AnswerOptions<O> {
  /**
   * The gold answers of an example. Default: the expected value of the field, read as a list
   * of golds when it is an array. `undefined` and `null` entries are not golds.
   */
  readonly golds?: ((example: Example<unknown, O>) => ReadonlyArray<unknown>) | undefined
}

// The gold answers of an example. None is a mistake in the data, not a score of 0: the metric
// throws `InvalidLabel` (as DSPy's raise), which `Evaluate` and every optimizer record as a
// failed row with its message. Throwing keeps these metrics plain `boolean`/`number` functions;
// an `Either` result would be truthy in `metric(e, p) ? … : …` and silently always pass.
const goldsOf = <O>(
  metric: string,
  example: Example<unknown, O>,
  field: keyof O & string,
  options: AnswerOptions<O> | undefined
): ReadonlyArray<unknown> => {
  const expected: unknown = options?.golds !== undefined ? options.golds(example) : example.expected[field]
  if (expected === undefined || expected === null) {
    throw new InvalidLabel({ metric, field, reason: `the example has no expected "${field}" to compare with` })
  }
  const golds = (Array.isArray(expected) ? expected : [expected]).filter((gold) => gold !== undefined && gold !== null)
  if (golds.length === 0) throw new InvalidLabel({ metric, field, reason: "the example's list of gold answers is empty" })
  return golds
}

/**
 * Whether the output field equals one of the gold answers after DSPy's normalization
 * (`normalizeText`); non-string values are compared by their JSON text.
 *
 * @throws `InvalidLabel` when the example has no gold answer (see `OptimizeError.InvalidLabel`).
 *
 * @example
 * ```ts
 * import { Metric } from "@effect-dspy/optimize"
 * const metric = Metric.exactMatch<{ readonly answer: string }>("answer")
 * // "The Eiffel Tower" matches the gold "eiffel tower"; a list of golds matches any of them
 * const anyAlias = Metric.exactMatch<{ readonly answer: string; readonly aliases: ReadonlyArray<string> }>("answer", {
 *   golds: (example) => [example.expected.answer, ...(example.expected.aliases ?? [])]
 * })
 * ```
 *
 * @since 0.1.0
 */
export const exactMatch = <O>(field: keyof O & string, options?: AnswerOptions<O>) =>
<I>(example: Example<I, O>, prediction: Prediction.Prediction<O>): boolean => {
  const golds = goldsOf("exactMatch", example, field, options)
  const predicted = normalizeText(asText(prediction.output[field]))
  return golds.some((gold) => normalizeText(asText(gold)) === predicted)
}

/**
 * Token F1 of two texts after normalization; 0 when they share no token (both empty included,
 * as DSPy).
 *
 * @since 0.2.0
 */
export const tokenF1 = (predicted: string, gold: string): number => {
  const p = normalizeText(predicted).split(" ").filter((t) => t !== "")
  const g = normalizeText(gold).split(" ").filter((t) => t !== "")
  const counts = new Map<string, number>()
  for (const token of g) counts.set(token, (counts.get(token) ?? 0) + 1)
  let same = 0
  for (const token of p) {
    const left = counts.get(token) ?? 0
    if (left > 0) {
      same++
      counts.set(token, left - 1)
    }
  }
  if (same === 0) return 0
  const precision = same / p.length
  const recall = same / g.length
  return (2 * precision * recall) / (precision + recall)
}

/**
 * Token F1 (SQuAD's): the harmonic mean of token precision and recall after DSPy's
 * normalization, the best over the gold answers.
 *
 * @throws `InvalidLabel` when the example has no gold answer.
 * @since 0.2.0
 * @example
 * ```ts
 * import { Metric } from "@effect-dspy/optimize"
 * const metric = Metric.f1<{ readonly answer: string }>("answer")
 * // "Eiffel Tower is in Paris" against "Paris": 0.33
 * ```
 */
export const f1 = <O>(field: keyof O & string, options?: AnswerOptions<O>) =>
<I>(example: Example<I, O>, prediction: Prediction.Prediction<O>): number => {
  const golds = goldsOf("f1", example, field, options)
  const predicted = asText(prediction.output[field])
  return golds.reduce<number>((best, gold) => Math.max(best, tokenF1(predicted, asText(gold))), 0)
}

/**
 * Whether the output field contains one of the gold answers, both normalized.
 *
 * @throws `InvalidLabel` when the example has no gold answer.
 *
 * @since 0.1.0
 */
export const contains = <O>(field: keyof O & string, options?: AnswerOptions<O>) =>
<I>(example: Example<I, O>, prediction: Prediction.Prediction<O>): boolean => {
  const golds = goldsOf("contains", example, field, options)
  const predicted = normalizeText(asText(prediction.output[field]))
  return golds.some((gold) => predicted.includes(normalizeText(asText(gold))))
}

// A number, or a text that spells one; anything else (an empty text included, which `Number`
// would read as 0) is not.
const asNumber = (value: unknown): number | undefined => {
  const n = typeof value === "number" ? value : typeof value === "string" && value.trim() !== "" ? Number(value) : Number.NaN
  return Number.isFinite(n) ? n : undefined
}

/**
 * Whether the numeric output is within `tolerance` (absolute) of the expected number; an output
 * that is not a number (an empty text included) does not match.
 *
 * @throws `InvalidLabel` when the example's expected value is missing or not a number.
 *
 * @since 0.1.0
 */
export const numericTolerance = <O>(field: keyof O & string, tolerance: number) =>
<I>(example: Example<I, O>, prediction: Prediction.Prediction<O>): boolean => {
  const expected = asNumber(example.expected[field])
  if (expected === undefined) {
    throw new InvalidLabel({
      metric: "numericTolerance",
      field,
      reason: `the example's expected "${field}" (${asText(example.expected[field]) || "none"}) is not a number`
    })
  }
  const actual = asNumber(prediction.output[field])
  return actual !== undefined && Math.abs(actual - expected) <= tolerance
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
