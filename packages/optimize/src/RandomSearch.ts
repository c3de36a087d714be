/**
 * `BootstrapFewShotWithRandomSearch`: builds several candidate programs (the program as given,
 * labelled only, bootstrapped in train-set order, and bootstrapped from shuffled train sets with
 * random demo counts), scores each on a validation set, and keeps the best; ties go to the
 * earlier candidate, the program as given first.
 *
 * Without a `valset`, the train set is split as `Mipro` splits it (80% validation, shuffled
 * with the seed): scoring candidates on the examples their labelled demos came from would
 * reward a model that copies demos.
 *
 * @since 0.1.0
 */
import { EventBus, type Module, Usage } from "@effect-dspy/core"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as BootstrapFewShot from "./BootstrapFewShot.js"
import * as Evaluate from "./Evaluate.js"
import type { Example } from "./Example.js"
import { cannotSucceed } from "./internal/baseline.js"
import { checkpointer } from "./internal/checkpoint.js"
import { describeState, fieldsOf } from "./internal/demos.js"
import { metered } from "./internal/meter.js"
import { fingerprint, rngFor } from "./internal/random.js"
import * as Schemas from "./internal/schemas.js"
import { trainAndValidation } from "./internal/split.js"
import * as LabeledFewShot from "./LabeledFewShot.js"
import { type CheckpointError, type CheckpointMismatch, InvalidOptions, type TooManyErrors } from "./OptimizeError.js"
import type * as OptimizerReport from "./Report.js"
import { withRunCache } from "./internal/runCache.js"

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
export interface Options<I, O, ME, MR, TR = never> extends BootstrapFewShot.Options<I, O, ME, MR, TR> {
  /** Validation set (default: 80% of the train set, split off with the seed). */
  readonly valset?: ReadonlyArray<Example<I, O>> | undefined
  /** Shuffled bootstrap candidates besides the three fixed ones (default 8). */
  readonly numCandidates?: number | undefined
  /** Seed of the split, the shuffles and demo counts (default 0). */
  readonly seed?: number | undefined
}

/**
 * The report of a run.
 *
 * @since 0.2.0
 */
export interface Report extends OptimizerReport.Report {
  readonly best: string
}

/**
 * The best program, every candidate and the report.
 *
 * @since 0.2.0
 */
export interface Result<I, O, E, R> {
  readonly program: Module.Module<I, O, E, R>
  readonly candidates: ReadonlyArray<Candidate<I, O, E, R>>
  readonly report: Report
}

const optimizer = "BootstrapFewShotWithRandomSearch"

const State = Schema.Struct({
  candidates: Schema.Array(Schema.Struct({ label: Schema.String, state: Schemas.ProgramState, score: Schema.Number })),
  metricCalls: Schema.Number
})

/**
 * Runs the random search and returns the best program with every candidate's score.
 *
 * @example
 * ```ts
 * import { Predict, Signature } from "@effect-dspy/core"
 * import { Example, Metric, RandomSearch } from "@effect-dspy/optimize"
 * const qa = Predict.make(Signature.fromString("question -> answer"))
 * const trainset = [Example.make({ question: "2+2?" }, { answer: "4" }), Example.make({ question: "3+3?" }, { answer: "6" })]
 * const search = RandomSearch.compile(qa, trainset, { metric: Metric.exactMatch("answer"), numCandidates: 4 })
 * ```
 *
 * @since 0.1.0
 */
export const compile = <I, O, E, R, ME = never, MR = never, TR = never>(
  student: Module.Module<I, O, E, R>,
  trainset: ReadonlyArray<Example<NoInfer<I>, NoInfer<O>>>,
  options: Options<NoInfer<I>, NoInfer<O>, ME, MR, TR>
): Effect.Effect<
  Result<I, O, E, R>,
  InvalidOptions | TooManyErrors | CheckpointError | CheckpointMismatch,
  R | MR | TR
> =>
  Effect.gen(function*() {
    const seed = options.seed ?? 0
    const split = trainAndValidation(optimizer, trainset, options.valset, seed)
    if (split instanceof InvalidOptions) return yield* split
    const { train, val } = split
    const maxBootstrapped = options.maxBootstrappedDemos ?? 4
    const maxErrors = options.maxErrors ?? 10
    // A candidate, with the metric calls spent building it (a bootstrap scores teacher runs).
    type Built = { readonly program: Module.Module<I, O, E, R>; readonly metricCalls: number }
    const bootstrap = (extra: { readonly seed: number | undefined; readonly maxBootstrappedDemos: number }) =>
      Effect.map(
        BootstrapFewShot.compile(student, train, { ...options, checkpoint: undefined, ...extra }),
        (r): Built => ({ program: r.program, metricCalls: r.report.metricCalls })
      )
    const builders: Array<{ readonly label: string; readonly build: Effect.Effect<Built, InvalidOptions | TooManyErrors | CheckpointError | CheckpointMismatch, R | MR | TR> }> = [
      { label: "as given", build: Effect.succeed({ program: student, metricCalls: 0 }) },
      {
        label: "labeled",
        build: Effect.map(LabeledFewShot.compile(student, train, { k: options.maxLabeledDemos ?? 16 }), (program) => ({ program, metricCalls: 0 }))
      },
      { label: "bootstrap", build: bootstrap({ seed: undefined, maxBootstrappedDemos: maxBootstrapped }) }
    ]
    for (let i = 0; i < (options.numCandidates ?? 8); i++) {
      const rng = rngFor(seed, "candidate", i)
      const shuffle = rng.int(2 ** 31)
      // A random size from 1 up; none when none are asked for (the candidates then differ in
      // their labelled demos, sampled with the shuffle's seed).
      const size = maxBootstrapped > 0 ? 1 + rng.int(maxBootstrapped) : 0
      builders.push({
        label: `bootstrap(seed=${shuffle}, demos=${size})`,
        build: bootstrap({ seed: shuffle, maxBootstrappedDemos: size })
      })
    }

    const store = checkpointer(
      options.checkpoint,
      optimizer,
      fingerprint({
        seed,
        numCandidates: options.numCandidates ?? 8,
        maxBootstrapped,
        maxLabeled: options.maxLabeledDemos ?? 16,
        maxRounds: options.maxRounds ?? 1,
        threshold: options.metricThreshold ?? 1,
        train: train.map(fieldsOf),
        val: val.map(fieldsOf),
        student: describeState(student),
        teacher: options.teacher === undefined ? null : describeState(options.teacher)
      }),
      State
    )
    const resumed = yield* store.resume
    const { state, usage } = yield* metered(Option.match(resumed, { onNone: () => Usage.empty, onSome: (r) => r.usage }), (meter) =>
      Effect.gen(function*() {
        let state = Option.match(resumed, { onNone: () => ({ candidates: [], metricCalls: 0 }), onSome: (r) => r.state })
        for (const { build, label } of builders.slice(state.candidates.length)) {
          const { metricCalls, program } = yield* build
          const first = state.candidates.length === 0
          const evaluation = yield* Evaluate.run(program, val, options.metric, {
            name: `${student.name} ${label}`,
            concurrency: options.concurrency,
            progress: false,
            // The program as given comes first: if it cannot succeed at all, stop before the rest.
            maxFailuresBeforeSuccess: first ? maxErrors : undefined
          })
          if (first) {
            const hopeless = cannotSucceed(optimizer, evaluation, maxErrors)
            if (hopeless !== undefined) return yield* hopeless
          }
          state = {
            candidates: [...state.candidates, { label, state: { predictors: Object.fromEntries(program.predictors.map((p) => [p.path, p.state])) }, score: evaluation.mean }],
            metricCalls: state.metricCalls + metricCalls + evaluation.rows.length
          }
          yield* store.save(state, meter.usage())
          yield* EventBus.publish({
            type: "optimization.random_search.candidate",
            optimizer,
            data: { label, score: evaluation.mean }
          })
        }
        return { state, usage: meter.usage() }
      }))

    const candidates = state.candidates.map((c) => ({ label: c.label, program: student.withState(c.state), score: c.score }))
    // The first of the best wins, so that ties keep the program as given, then the simpler.
    const best = candidates.reduce((a, b) => (b.score > a.score ? b : a))
    const report: Report = {
      optimizer,
      trials: candidates.map((c, index) => ({ index, kind: index === 0 ? "baseline" : "candidate", label: c.label, score: c.score, examples: val.length })),
      baselineScore: candidates[0]?.score,
      bestScore: best.score,
      usage,
      metricCalls: state.metricCalls,
      resumed: Option.isSome(resumed),
      stoppedEarly: undefined,
      best: best.label
    }
    yield* EventBus.publish({
      type: "optimization.random_search.end",
      optimizer,
      data: { best: best.label, score: best.score }
    })
    return { program: best.program, candidates, report }
  }).pipe(Effect.withSpan(optimizer, { captureStackTrace: false }), withRunCache(options.cache))
