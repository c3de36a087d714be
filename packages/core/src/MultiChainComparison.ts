/**
 * `MultiChainComparison`: given M reasoning attempts at the same inputs (the completions of a
 * `ChainOfThought` asked with `n: M`, say), the model compares them and writes a corrected
 * rationale and the final outputs (DSPy's module of the same name).
 *
 * @since 0.2.0
 */
import type * as LanguageModel from "@effect/ai/LanguageModel"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Demo from "./Demo.js"
import { InvalidInput } from "./DspyError.js"
import * as LmConfig from "./LmConfig.js"
import * as Module from "./Module.js"
import * as Predict from "./Predict.js"
import * as Signature from "./Signature.js"

/**
 * One attempt to compare: the outputs of a completion, with its reasoning (`reasoning`, as
 * `ChainOfThought` writes it, or `rationale`).
 *
 * @since 0.2.0
 */
export type Attempt<S extends Signature.Any> = Signature.Output<S> & {
  readonly reasoning?: string | undefined
  readonly rationale?: string | undefined
}

/**
 * The input of a comparison: the signature's inputs and the attempts at them.
 *
 * @since 0.2.0
 */
export type Input<S extends Signature.Any> = Signature.Input<S> & {
  readonly completions: ReadonlyArray<Attempt<S>>
}

/** The `rationale` output the comparison writes before the signature's outputs. */
const rationaleField = Schema.String.annotations({
  description: "Accurate reasoning: having read every attempt, the corrected reasoning toward the outputs, holistically"
})

/**
 * The signature a comparison over `S` answers: its outputs carry `rationale`.
 *
 * @since 0.2.0
 */
export type WithRationale<S extends Signature.Any> = Signature.WithOutput<S, "rationale", typeof rationaleField>

/**
 * A MultiChainComparison module over `S`.
 *
 * @since 0.2.0
 */
export interface MultiChainComparison<S extends Signature.Any> extends
  Module.Module<
    Input<S>,
    Signature.Output<WithRationale<S>>,
    Predict.PredictError,
    LanguageModel.LanguageModel
  >
{}

/**
 * Options of a MultiChainComparison.
 *
 * @since 0.2.0
 */
export interface Options {
  readonly name?: string | undefined
  /** How many attempts each call compares (DSPy's `M`, default 3). */
  readonly m?: number | undefined
  /** Temperature of the comparison call (default 0.7, DSPy's). */
  readonly temperature?: number | undefined
  readonly instructions?: string | undefined
  readonly maxParseRetries?: number | undefined
}

const attemptField = (index: number) =>
  Schema.String.annotations({ description: `Student attempt #${index}: a reasoning attempt and its prediction` })

/** The comparison signature: inputs, then `reasoning_attempt_1..M`; `rationale`, then outputs. */
const comparisonSignature = (signature: Signature.Any, m: number): Signature.Any => {
  let extended: Signature.Any = signature
  for (let i = 1; i <= m; i++) extended = Signature.appendInput(extended, `reasoning_attempt_${i}`, attemptField(i))
  return Signature.prependOutput(extended, "rationale", rationaleField)
}

const firstLine = (text: string): string => text.trim().split("\n")[0]!.trim()

const textOf = (value: unknown): string => typeof value === "string" ? value : JSON.stringify(value) ?? ""

/** DSPy's rendering of an attempt: its reasoning's first line and its answer's first line. */
const describeAttempt = (attempt: Readonly<Record<string, unknown>>, answerField: string): string => {
  const reasoning = firstLine(textOf(attempt["rationale"] ?? attempt["reasoning"] ?? ""))
  const answer = firstLine(textOf(attempt[answerField]))
  return `«I'm trying to ${reasoning} I'm not sure but my prediction is ${answer}»`
}

/**
 * Makes a MultiChainComparison module. Calling it with other than `m` attempts fails with
 * `InvalidInput` on the field `completions`, before any LM call.
 *
 * @since 0.2.0
 * @example
 * ```ts
 * import { ChainOfThought, MultiChainComparison, Signature } from "@effect-dspy/core"
 * import { Effect } from "effect"
 *
 * const QA = Signature.fromString("question -> answer")
 * const think = ChainOfThought.make(QA)
 * const compare = MultiChainComparison.make(QA, { m: 3 })
 * const answer = (question: string) =>
 *   Effect.gen(function*() {
 *     const attempts = yield* Effect.all([think({ question }), think({ question }), think({ question })])
 *     const final = yield* compare({ question, completions: attempts.map((p) => p.output) })
 *     return final.output // { rationale: string; answer: string }
 *   })
 * ```
 */
export const make = <S extends Signature.Any>(signature: S, options?: Options): MultiChainComparison<S> => {
  const m = Math.max(1, options?.m ?? 3)
  const name = options?.name ?? signature.name
  const temperature = options?.temperature ?? 0.7
  const extended = comparisonSignature(signature, m)
  const answerField = signature.outputFields.at(-1)!.name
  const retries = Math.max(0, options?.maxParseRetries ?? 1)

  const build = (state: Module.PredictorState): MultiChainComparison<S> => {
    const id = Symbol(name)
    const predictor: Predict.Predictor = { id, name, signature: extended, state, maxParseRetries: retries }
    const body = (input: Input<S>) =>
      Effect.suspend(() => {
        const completions: ReadonlyArray<Readonly<Record<string, unknown>>> = input.completions
        const { completions: _completions, ...inputs } = input as Readonly<Record<string, unknown>>
        if (completions.length !== m) {
          return Effect.fail(
            new InvalidInput({
              signature: extended.name,
              field: "completions",
              issue: `expected ${m} attempts (the module's m), got ${completions.length}`
            })
          )
        }
        const attempts: Record<string, string> = {}
        completions.forEach((attempt, i) => {
          attempts[`reasoning_attempt_${i + 1}`] = describeAttempt(attempt, answerField)
        })
        return Predict.run(predictor, { ...inputs, ...attempts }).pipe(LmConfig.withSettings({ temperature }))
      })
    const self: MultiChainComparison<S> = Module.fromFunction(
      (input: Input<S>) =>
        Module.instrument(
          { name, kind: "MultiChainComparison", signature: extended.name, input },
          // Decoded by the comparison signature's output Schema: its `Output` type.
          body(input) as Effect.Effect<Signature.Output<WithRationale<S>>, Predict.PredictError, LanguageModel.LanguageModel>
        ),
      {
        name,
        kind: "MultiChainComparison",
        signature: extended,
        predictors: [{ path: "self", id, signature: extended, state }],
        withState: (next) => build(next.predictors["self"] ?? state)
      }
    )
    return self
  }

  return build({ instructions: options?.instructions ?? extended.instructions, demos: Demo.encodeAllOrThrow(extended, []) })
}
