/**
 * `KNN`: few-shot demos chosen per call by similarity. The inputs of each training example and
 * of the call are embedded by a function you supply (any Effect: an `@effect/ai`
 * `EmbeddingModel`'s `embedMany`, a local model, a test double), and the `k` most similar
 * examples (cosine similarity) become the call's demos, most similar first (DSPy's `KNN` and
 * `KNNFewShot`). The training set is embedded once, on first use.
 *
 * @since 0.2.0
 */
import type * as LanguageModel from "@effect/ai/LanguageModel"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Demo from "./Demo.js"
import { InvalidEmbedding } from "./DspyError.js"
import * as Module from "./Module.js"
import * as Predict from "./Predict.js"
import type * as Signature from "./Signature.js"

/**
 * An embedding function: one vector per text, all of one length.
 *
 * @since 0.2.0
 */
export type Embed<E, R> = (
  texts: ReadonlyArray<string>
) => Effect.Effect<ReadonlyArray<ReadonlyArray<number>>, E, R>

/**
 * Options of a KNN retriever.
 *
 * @since 0.2.0
 */
export interface Options<S extends Signature.Any, E, R> {
  /** How many examples to choose per call. */
  readonly k: number
  /** The examples to choose from: values of the signature's fields (inputs, and outputs to show). */
  readonly trainset: ReadonlyArray<Demo.Demo<S>>
  readonly embed: Embed<E, R>
}

/**
 * Chooses the examples nearest an input.
 *
 * @since 0.2.0
 */
export interface Retriever<S extends Signature.Any, E, R> {
  /** The `k` nearest examples to the input (encoded, as demos are kept), most similar first. */
  readonly nearest: (input: Signature.Input<S>) => Effect.Effect<ReadonlyArray<Demo.Encoded>, E | InvalidEmbedding, R>
}

const textOf = (value: unknown): string => typeof value === "string" ? value : JSON.stringify(value) ?? ""

/** DSPy's text of an example for embedding: `field: value` for each input it has, joined by ` | `. */
const inputText = (signature: Signature.Any, values: Readonly<Record<string, unknown>>): string =>
  signature.inputFields
    .filter((field) => values[field.name] !== undefined)
    .map((field) => `${field.name}: ${textOf(values[field.name])}`)
    .join(" | ")

const cosine = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): number => {
  let dot = 0
  let na = 0
  let nb = 0
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!
    na += a[i]! * a[i]!
    nb += b[i]! * b[i]!
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb)
}

const checkVectors = (
  module: string,
  vectors: ReadonlyArray<ReadonlyArray<number>>,
  expected: number,
  dimension: number | undefined
): Either.Either<ReadonlyArray<ReadonlyArray<number>>, InvalidEmbedding> => {
  if (vectors.length !== expected) {
    return Either.left(new InvalidEmbedding({ module, reason: `${expected} text(s) gave ${vectors.length} vector(s)` }))
  }
  const length = dimension ?? vectors[0]?.length
  for (const vector of vectors) {
    if (vector.length !== length || vector.length === 0) {
      return Either.left(
        new InvalidEmbedding({ module, reason: `vectors of length ${vector.length} and ${length ?? 0} (or empty)` })
      )
    }
    if (!vector.every(Number.isFinite)) {
      return Either.left(new InvalidEmbedding({ module, reason: "a vector holds a value that is not a finite number" }))
    }
  }
  return Either.right(vectors)
}

/**
 * A retriever of the `k` training examples nearest an input. Examples that fail to encode
 * against the signature throw `InvalidState` (a programming mistake, like a bad demo).
 *
 * @since 0.2.0
 * @example
 * ```ts
 * import { KNN, Signature } from "@effect-dspy/core"
 * import { Effect } from "effect"
 *
 * const QA = Signature.fromString("question -> answer")
 * // a toy embedding: letter counts (use an EmbeddingModel in real programs)
 * const embed = (texts: ReadonlyArray<string>) =>
 *   Effect.succeed(texts.map((t) => Array.from({ length: 26 }, (_, i) => t.split(String.fromCharCode(97 + i)).length - 1)))
 * const knn = KNN.retriever(QA, {
 *   k: 1,
 *   trainset: [{ question: "capital of France?", answer: "Paris" }, { question: "2 + 2?", answer: "4" }],
 *   embed
 * })
 * const nearest = knn.nearest({ question: "capital of Italy?" }) // [{ question: "capital of France?", ... }]
 * ```
 */
export const retriever = <S extends Signature.Any, E, R>(
  signature: S,
  options: Options<S, E, R>
): Retriever<S, E, R> => {
  const module = `KNN(${signature.name})`
  const examples = Demo.encodeAllOrThrow(signature, options.trainset)
  const k = Math.max(0, Math.min(options.k, examples.length))
  // The training set's vectors, made once: concurrent first calls wait for one embedding.
  let vectors: ReadonlyArray<ReadonlyArray<number>> | undefined
  // Made by the first call (the first assignment wins, so every call shares one lock).
  let lock: Effect.Semaphore | undefined
  const theLock = Effect.suspend(() =>
    lock !== undefined ? Effect.succeed(lock) : Effect.map(Effect.makeSemaphore(1), (made) => (lock ??= made))
  )
  const trainVectors = Effect.suspend(() =>
    vectors !== undefined ? Effect.succeed(vectors) : Effect.flatMap(theLock, (held) =>
      held.withPermits(1)(Effect.suspend(() => {
        if (vectors !== undefined) return Effect.succeed(vectors)
        return options.embed(examples.map((example) => inputText(signature, example))).pipe(
          Effect.flatMap((made) => checkVectors(module, made, examples.length, undefined)),
          Effect.tap((made) => Effect.sync(() => void (vectors = made)))
        )
      })))
  )
  const nearest = (input: Signature.Input<S>) =>
    Effect.gen(function*() {
      if (k === 0) return []
      const encoded = Predict.encodeInputs(signature, input)
      // Inputs that do not fit are reported by the predictor that runs them; here they are
      // embedded as given.
      const values = Either.isRight(encoded) ? encoded.right : (input as Readonly<Record<string, unknown>>)
      const train = yield* trainVectors
      const query = yield* Effect.flatMap(
        options.embed([inputText(signature, values)]),
        (made) => checkVectors(module, made, 1, train[0]?.length)
      )
      const scores = train.map((vector, index) => ({ index, score: cosine(vector, query[0]!) }))
      // Most similar first; equal scores keep the training set's order.
      scores.sort((a, b) => b.score - a.score || a.index - b.index)
      return scores.slice(0, k).map(({ index }) => examples[index]!)
    })
  return { nearest }
}

/**
 * A KNN module over a `Predict` (or `ChainOfThought`) module `P`: each call's demos are the
 * nearest training examples, followed by the predictor's own demos.
 *
 * @since 0.2.0
 */
export interface KNN<I, O, E, R> extends Module.Module<I, O, Predict.PredictError | InvalidEmbedding | E, LanguageModel.LanguageModel | R> {}

/**
 * Wraps a predictor so that each call is shown the `k` training examples nearest its input.
 *
 * @since 0.2.0
 * @example
 * ```ts
 * import { KNN, Predict, Signature } from "@effect-dspy/core"
 * import { Effect } from "effect"
 *
 * const QA = Signature.fromString("question -> answer")
 * const embed = (texts: ReadonlyArray<string>) => Effect.succeed(texts.map((t) => [t.length, t.split(" ").length]))
 * const qa = KNN.make(Predict.make(QA), {
 *   k: 2,
 *   trainset: [{ question: "capital of France?", answer: "Paris" }, { question: "2 + 2?", answer: "4" }],
 *   embed
 * })
 * // qa({ question: "capital of Spain?" }): the prompt shows the two examples, nearest first
 * ```
 */
export const make = <S extends Signature.Any, E, R>(
  predict: Predict.Predict<S>,
  options: Options<S, E, R> & {
    readonly name?: string | undefined
    /** How many times to re-ask after an unreadable reply (default 1). */
    readonly maxParseRetries?: number | undefined
  }
): KNN<Signature.Input<S>, Signature.Output<S>, E, R> => {
  const info = predict.predictors[0]!
  // The predictor's signature: the one its demos are for (a ChainOfThought's has `reasoning`).
  const knn = retriever(info.signature as S, options)
  const name = options.name ?? predict.name
  const retries = Math.max(0, options.maxParseRetries ?? 1)

  const build = (inner: Predict.Predict<S>): KNN<Signature.Input<S>, Signature.Output<S>, E, R> => {
    const own = inner.predictors[0]!
    const body = (input: Signature.Input<S>) =>
      Effect.flatMap(knn.nearest(input), (demos) =>
        Predict.run(
          // The wrapped predictor's identity, so that traces name it.
          {
            id: own.id,
            name,
            signature: own.signature,
            state: { instructions: own.state.instructions, demos: [...demos, ...own.state.demos] },
            maxParseRetries: retries
          },
          input
        ))
    return Module.fromFunction(
      (input: Signature.Input<S>) =>
        Module.instrument(
          { name, kind: "KNN", signature: own.signature.name, input },
          // Decoded by the predictor's output Schema: its `Output` type.
          body(input) as Effect.Effect<
            Signature.Output<S>,
            Predict.PredictError | InvalidEmbedding | E,
            LanguageModel.LanguageModel | R
          >
        ),
      {
        name,
        kind: "KNN",
        signature: inner.signature,
        predictors: inner.predictors,
        withState: (state) => build(inner.withState(state) as Predict.Predict<S>)
      }
    )
  }
  return build(predict)
}
