/**
 * `BootstrapFewShotWithRandomSearch`: builds several candidate programs (zero-shot, labelled
 * only, bootstrapped in train-set order, and bootstrapped from shuffled train sets with random
 * demo counts), scores each on a validation set, and keeps the best.
 *
 * @since 0.1.0
 */
import { EventBus, type Module } from "@effect-dspy/core"
import * as Effect from "effect/Effect"
import * as BootstrapFewShot from "./BootstrapFewShot.js"
import * as Evaluate from "./Evaluate.js"
import type { Example } from "./Example.js"
import { makeRng } from "./internal/random.js"
import * as LabeledFewShot from "./LabeledFewShot.js"

/**
 * One scored candidate.
 *
 * @since 0.1.0
 */
export interface Candidate<I, O, E, R> {
  readonly label: string
  readonly program: Module.Module<I, O, E, R>
  readonly score: number
}

/**
 * Options of `compile`.
 *
 * @since 0.1.0
 */
export interface Options<I, O, ME, MR> extends BootstrapFewShot.Options<I, O, ME, MR> {
  /** Validation set (default: the train set). */
  readonly valset?: ReadonlyArray<Example<I, O>> | undefined
  /** Shuffled bootstrap candidates besides the three fixed ones (default 8). */
  readonly numCandidates?: number | undefined
  /** Seed of the shuffles and demo counts (default 0). */
  readonly seed?: number | undefined
}

/**
 * Runs the random search and returns the best program with every candidate's score.
 *
 * @example
 * ```ts
 * import { Predict, Signature } from "@effect-dspy/core"
 * import { Example, Metric, RandomSearch } from "@effect-dspy/optimize"
 * const qa = Predict.make(Signature.fromString("question -> answer"))
 * const trainset = [Example.make({ question: "2+2?" }, { answer: "4" })]
 * const search = RandomSearch.compile(qa, trainset, { metric: Metric.exactMatch("answer"), numCandidates: 4 })
 * ```
 *
 * @since 0.1.0
 */
export const compile = <I, O, E, R, ME = never, MR = never>(
  student: Module.Module<I, O, E, R>,
  trainset: ReadonlyArray<Example<NoInfer<I>, NoInfer<O>>>,
  options: Options<NoInfer<I>, NoInfer<O>, ME, MR>
): Effect.Effect<
  { readonly program: Module.Module<I, O, E, R>; readonly candidates: ReadonlyArray<Candidate<I, O, E, R>> },
  never,
  R | MR
> =>
  Effect.gen(function*() {
    const rng = makeRng(options.seed ?? 0)
    const valset = options.valset ?? trainset
    const maxBootstrapped = options.maxBootstrappedDemos ?? 4
    const builders: Array<{ readonly label: string; readonly build: Effect.Effect<Module.Module<I, O, E, R>, never, R | MR> }> = [
      { label: "zero-shot", build: Effect.succeed(student) },
      { label: "labeled", build: LabeledFewShot.compile(student, trainset, { k: options.maxLabeledDemos ?? 16 }) },
      {
        label: "bootstrap",
        build: Effect.map(BootstrapFewShot.compile(student, trainset, { ...options, seed: undefined }), (r) => r.program)
      }
    ]
    for (let i = 0; i < (options.numCandidates ?? 8); i++) {
      const seed = rng.int(2 ** 31)
      const size = 1 + rng.int(Math.max(1, maxBootstrapped))
      builders.push({
        label: `bootstrap(seed=${seed}, demos=${size})`,
        build: Effect.map(
          BootstrapFewShot.compile(student, trainset, { ...options, seed, maxBootstrappedDemos: size }),
          (r) => r.program
        )
      })
    }
    const candidates: Array<Candidate<I, O, E, R>> = []
    for (const { build, label } of builders) {
      const program = yield* build
      const evaluation = yield* Evaluate.run(program, valset, options.metric, {
        name: `${student.name} ${label}`,
        concurrency: options.concurrency,
        progress: false
      })
      candidates.push({ label, program, score: evaluation.mean })
      yield* EventBus.publish({
        type: "optimization.random_search.candidate",
        optimizer: "BootstrapFewShotWithRandomSearch",
        data: { label, score: evaluation.mean }
      })
    }
    // The first of the best wins, so that ties keep the simpler candidate.
    const best = candidates.reduce((a, b) => (b.score > a.score ? b : a))
    yield* EventBus.publish({
      type: "optimization.random_search.end",
      optimizer: "BootstrapFewShotWithRandomSearch",
      data: { best: best.label, score: best.score }
    })
    return { program: best.program, candidates }
  }).pipe(Effect.withSpan("BootstrapFewShotWithRandomSearch", { captureStackTrace: false }))
