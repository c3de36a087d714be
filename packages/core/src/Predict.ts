/**
 * `Predict`: the basic module. Checks inputs against the signature, formats the prompt with
 * the adapter in force, calls the model, reads the reply back into typed outputs, and re-asks
 * a bounded number of times when the reply cannot be read.
 *
 * @since 0.1.0
 */
import type * as AiError from "@effect/ai/AiError"
import type * as LanguageModel from "@effect/ai/LanguageModel"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Adapter from "./Adapter.js"
import * as ChatAdapter from "./ChatAdapter.js"
import * as Demo from "./Demo.js"
import { InvalidInput, OutputParseError } from "./DspyError.js"
import { EventBus } from "./EventBus.js"
import { callModel } from "./internal/callModel.js"
import { addTrace, CurrentCollector } from "./internal/collector.js"
import { erase } from "./internal/erased.js"
import { unknownTurnField } from "./internal/history.js"
import { completions } from "./internal/completions.js"
import { memo } from "./internal/memo.js"
import * as LmConfig from "./LmConfig.js"
import * as Module from "./Module.js"
import type * as Prediction from "./Prediction.js"
import type * as Signature from "./Signature.js"

/**
 * The errors a Predict call can fail with.
 *
 * @since 0.1.0
 */
export type PredictError = InvalidInput | OutputParseError | AiError.AiError

/**
 * A Predict module over signature `S`.
 *
 * @since 0.1.0
 */
export interface Predict<S extends Signature.Any>
  extends Module.Module<Signature.Input<S>, Signature.Output<S>, PredictError, LanguageModel.LanguageModel>
{}

/**
 * Options of a Predict.
 *
 * @since 0.1.0
 */
export interface Options<S extends Signature.Any> {
  /** Name for spans, events and state; defaults to the signature name. */
  readonly name?: string | undefined
  /** Instructions overriding the signature's. */
  readonly instructions?: string | undefined
  /** Few-shot demos. */
  readonly demos?: ReadonlyArray<Demo.Demo<S>> | undefined
  /** How many times to re-ask the model after an unreadable reply (default 1). */
  readonly maxParseRetries?: number | undefined
  /**
   * How many completions to ask for (DSPy's `n`; default `LmConfig.n`, else 1): with more than
   * one, each is a rollout of its own and the prediction carries them all in `completions`.
   *
   * @since 0.2.0
   */
  readonly n?: number | undefined
}

/**
 * Extra guidance appended to the instructions of every predictor in a subtree
 * (Refine uses it to pass feedback to the next attempt).
 *
 * @since 0.1.0
 */
export class InstructionHint extends Context.Reference<InstructionHint>()("@effect-dspy/core/InstructionHint", {
  defaultValue: (): string | undefined => undefined
}) {}

const firstIssue = (error: ParseResult.ParseError): { readonly field: string; readonly issue: string } => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
  const first = issues[0]
  return {
    field: first === undefined || first.path.length === 0 ? "(input)" : String(first.path[0]),
    issue: first?.message ?? ParseResult.TreeFormatter.formatErrorSync(error)
  }
}

/**
 * Encodes and checks inputs against the signature, naming the first offending field.
 *
 * @since 0.1.0
 */
export const encodeInputs = (
  signature: Signature.Any,
  input: unknown
): Either.Either<Record<string, unknown>, InvalidInput> =>
  Either.flatMap(
    Either.mapLeft(
      memo(signature, "encodeInputs", () =>
        Schema.encodeUnknownEither(erase(signature.input), { errors: "first", onExcessProperty: "error" }))(input),
      (error) => new InvalidInput({ signature: signature.name, ...firstIssue(error) })
    ),
    (encoded) => checkHistory(signature, encoded)
  )

// A conversation history's turns name the signature's fields: a turn that names another field
// would be silently dropped from the prompt, so it is refused with the other bad inputs.
const checkHistory = (
  signature: Signature.Any,
  encoded: Record<string, unknown>
): Either.Either<Record<string, unknown>, InvalidInput> => {
  const field = signature.inputFields.find((f) => f.media === "history")
  if (field === undefined) return Either.right(encoded)
  const unknown = unknownTurnField(signature, encoded[field.name])
  return unknown === undefined ? Either.right(encoded) : Either.left(
    new InvalidInput({
      signature: signature.name,
      field: field.name,
      issue: `turn ${unknown.turn} has the field "${unknown.key}", which the signature does not have`
    })
  )
}

/**
 * What `run` needs of a predictor: its identity, signature, learned state and re-ask budget.
 *
 * @since 0.1.0
 */
export interface Predictor {
  readonly id: symbol
  readonly name: string
  readonly signature: Signature.Any
  readonly state: Module.PredictorState
  readonly maxParseRetries: number
}

/**
 * The body of one predictor call, without module instrumentation: used by Predict and by
 * modules that run a predictor as one of their steps (ReAct). Usage and the trace entry go to
 * the module call in progress.
 *
 * @since 0.1.0
 */
export const run: (
  predictor: Predictor,
  input: unknown
) => Effect.Effect<Record<string, unknown>, PredictError, LanguageModel.LanguageModel> = Effect.fnUntraced(
  function*(predictor: Predictor, input: unknown) {
    const { signature } = predictor
    const inputs = encodeInputs(signature, input)
    if (Either.isLeft(inputs)) return yield* inputs.left
    const inForce = (yield* Adapter.CurrentAdapter) ?? ChatAdapter.adapter
    // The adapter of the next attempt: a re-ask may go through the adapter's fallback.
    let adapter = inForce
    const fallback = yield* Adapter.Fallback
    const hint = yield* InstructionHint
    const bus = yield* EventBus
    const instructions = hint === undefined ? predictor.state.instructions : `${predictor.state.instructions}\n\n${hint}`
    const failedReplies: Array<{ readonly reply: string; readonly issue: string }> = []
    for (let attempt = 1;; attempt++) {
      const prompt = adapter.format({ signature, instructions, demos: predictor.state.demos, inputs: inputs.right, failedReplies })
      const reply = yield* callModel(adapter, signature, predictor.name, prompt, attempt)
      const { parsed, reaskWith } = parseReply(inForce, adapter, signature, reply, fallback)
      if (Either.isRight(parsed)) {
        addTrace(yield* CurrentCollector, {
          predictorId: predictor.id,
          signature: signature.name,
          inputs: inputs.right,
          outputs: parsed.right.encoded,
          nearMisses: parsed.right.nearMisses
        })
        return parsed.right.decoded
      }
      const { field, issue } = parsed.left
      yield* bus.publish({
        type: "parse.failure",
        module: predictor.name,
        signature: signature.name,
        adapter: adapter.name,
        attempt,
        issue,
        raw: reply.text
      })
      if (attempt > predictor.maxParseRetries) {
        return yield* new OutputParseError({
          signature: signature.name,
          adapter: adapter.name,
          raw: reply.text,
          field,
          issue,
          attempts: attempt
        })
      }
      yield* bus.publish({ type: "parse.retry", module: predictor.name, signature: signature.name, attempt: attempt + 1 })
      failedReplies.push({ reply: reply.text, issue })
      adapter = reaskWith
    }
  }
)

/**
 * Reads a reply into the signature's outputs: the adapter's parse (or, with the fallback on, the
 * fallback adapter's: `Adapter.readReply`), then the output Schema. `encoded` is what the trace
 * records, `decoded` what the caller gets, `nearMisses` what the reading forgave; `reaskWith` is
 * the adapter a re-ask goes through.
 */
const parseReply = (
  inForce: Adapter.Adapter,
  asked: Adapter.Adapter,
  signature: Signature.Any,
  reply: Adapter.Reply,
  fallback: boolean
) => {
  const reading = Adapter.readReply(inForce, asked, signature, reply.text, fallback)
  const parsed = Either.flatMap(reading.result, ({ nearMisses, values }) =>
    Either.mapLeft(
      Either.map(decodeOutputs(signature)(values), (decoded) => ({ encoded: values, decoded, nearMisses })),
      (error): Adapter.ParseIssue => firstIssue(error)
    ))
  return { parsed, reaskWith: reading.reaskWith }
}

const decodeOutputs = (signature: Signature.Any) =>
  memo(signature, "decodeOutputs", () => Schema.decodeUnknownEither(erase(signature.output), { errors: "first" }))

/**
 * Builds a single-predictor module from a fixed state (used by `make`, `withState`, ChainOfThought).
 *
 * @since 0.1.0
 */
export const fromState = <S extends Signature.Any>(
  kind: string,
  signature: S,
  name: string,
  state: Module.PredictorState,
  maxParseRetries: number,
  n?: number | undefined
): Predict<S> => {
  const id = Symbol(name)
  const predictor = { id, name, signature, state, maxParseRetries }
  const info = { name, kind, signature: signature.name }
  // The outputs decoded by this signature's output Schema: its `Output` type.
  const body = (input: Signature.Input<S>) =>
    run(predictor, input) as Effect.Effect<Signature.Output<S>, PredictError, LanguageModel.LanguageModel>
  const one = (input: Signature.Input<S>) => Module.instrument({ ...info, input }, body(input))
  // n completions: one module call whose body makes n rollouts; its output is the first.
  const many = (input: Signature.Input<S>) =>
    Effect.map(
      Module.instrument({ ...info, input }, completions(n, body(input))),
      ({ output, trace, usage }): Prediction.Prediction<Signature.Output<S>> =>
        output.length === 1 ? { output: output[0], usage, trace } : { output: output[0], usage, trace, completions: output }
    )
  const self: Predict<S> = Module.fromFunction(
    (input: Signature.Input<S>) =>
      Effect.flatMap(LmConfig.LmConfig, (config) => (n ?? config.n ?? 1) > 1 || config.n !== undefined ? many(input) : one(input)),
    {
      name,
      kind,
      signature,
      predictors: [{ path: "self", id, signature, state }],
      withState: (next) => {
        const mine = next.predictors["self"]
        return mine === undefined ? self : fromState(kind, signature, name, mine, maxParseRetries, n)
      }
    }
  )
  return self
}

/**
 * Makes a Predict module. Its input and output types come from the signature.
 *
 * @example
 * ```ts
 * import { Predict, Signature } from "@effect-dspy/core"
 * import { Effect } from "effect"
 *
 * const QA = Signature.fromString("question -> answer")
 * const qa = Predict.make(QA)
 * const program = Effect.map(qa({ question: "What is 2 + 2?" }), (p) => p.output.answer)
 * ```
 *
 * @since 0.1.0
 */
export const make = <S extends Signature.Any>(signature: S, options?: Options<S>): Predict<S> =>
  fromState(
    "Predict",
    signature,
    options?.name ?? signature.name,
    {
      instructions: options?.instructions ?? signature.instructions,
      demos: Demo.encodeAllOrThrow(signature, options?.demos ?? [])
    },
    Math.max(0, options?.maxParseRetries ?? 1),
    options?.n
  )
