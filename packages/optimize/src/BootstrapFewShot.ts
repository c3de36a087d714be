/**
 * `BootstrapFewShot`: runs a teacher program on train examples, keeps the traces of the runs
 * whose final output passes the metric, and installs them as demos in every named predictor of
 * the student (multi-predictor programs included), topped up with labelled demos.
 *
 * Honest by construction, as DSPy's:
 * - the example being bootstrapped is never in its teacher's prompt (its demos made from that
 *   example are removed for that run), so a model that can only copy demos passes nothing;
 * - one trace per predictor per example: a predictor called several times in one run (a ReAct
 *   step, a loop) contributes one of its calls, so one example cannot fill a predictor's demos;
 * - only runs whose final output passed the metric give demos;
 * - a fixed seed gives the same program (given a model that answers the same prompt the same way).
 *
 * Every LM call goes through the `LanguageModel` in context, so a cache layer the user provides
 * applies; later rounds (`maxRounds`) set a temperature of 1 and a fresh `rolloutId` so that a
 * cache does not hand back the failed answer again.
 *
 * @since 0.1.0
 */
import { type Demo, EventBus, LmConfig, type Module, type Prediction, Usage } from "@effect-dspy/core"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { Store } from "./Checkpoint.js"
import type { Example } from "./Example.js"
import { checkpointer } from "./internal/checkpoint.js"
import { describeCause } from "./internal/describe.js"
import { describeState, fieldsOf, isDemoOf, Misfits } from "./internal/demos.js"
import { metered } from "./internal/meter.js"
import { fingerprint, makeRng, rngFor } from "./internal/random.js"
import * as Schemas from "./internal/schemas.js"
import { type Metric, verdict } from "./Metric.js"
import { type CheckpointError, type CheckpointMismatch, InvalidOptions, TooManyErrors } from "./OptimizeError.js"
import type * as OptimizerReport from "./Report.js"
import { withRunCache } from "./internal/runCache.js"

/**
 * Options of `compile`.
 *
 * @since 0.1.0
 */
export interface Options<I, O, ME, MR, TR = never> {
  readonly metric: Metric<I, O, ME, MR>
  /** A score at or above this passes (default 1, i.e. `true` for boolean metrics). */
  readonly metricThreshold?: number | undefined
  /** The program whose traces become demos; default: the student with labelled demos. */
  readonly teacher?: Module.Module<I, O, unknown, TR> | undefined
  /** Bootstrapped demos per predictor, i.e. passing examples to collect (default 4). */
  readonly maxBootstrappedDemos?: number | undefined
  /** Total demos per predictor, topped up with labelled ones (default 16). */
  readonly maxLabeledDemos?: number | undefined
  /** Attempts per example; later ones at temperature 1 with a fresh rollout id (default 1). */
  readonly maxRounds?: number | undefined
  /** Teacher runs at once (default 8). The result does not depend on it. */
  readonly concurrency?: number | undefined
  /**
   * Shuffle the train set with this seed before bootstrapping (default: keep its order). The
   * seed (default 0) also picks among a predictor's calls in one run and the labelled top-up.
   */
  readonly seed?: number | undefined
  /** Teacher or metric failures tolerated before the run stops with `TooManyErrors` (default 10). */
  readonly maxErrors?: number | undefined
  /**
   * Save progress here after each batch of examples and resume from it (see `Checkpoint`).
   *
   * @since 0.2.0
   */
  readonly checkpoint?: Store | undefined
  /**
   * Cache the run's LM calls in memory (`LmCache.ensure`), as DSPy does (default `true`); a
   * cache already in force (`LmCache.layer`, `Lm.layer`'s `cache`) is used instead. `false`
   * sends every call to the model.
   *
   * @since 0.2.0
   */
  readonly cache?: boolean | undefined
}

/**
 * What bootstrapping found, for reports and events.
 *
 * @since 0.1.0
 */
export interface Report extends OptimizerReport.Report {
  /** Teacher runs (rounds included). */
  readonly attempted: number
  /** Examples whose run passed the metric (and gave demos). */
  readonly passed: number
  /** Teacher runs or metric calls that failed. */
  readonly errors: number
  /** Bootstrapped demos per predictor path (they come first in its demos). */
  readonly demos: Readonly<Record<string, number>>
  /** Labelled demos added per predictor path. */
  readonly labeled: Readonly<Record<string, number>>
}

/**
 * The compiled program and the report.
 *
 * @since 0.2.0
 */
export interface Result<I, O, E, R> {
  readonly program: Module.Module<I, O, E, R>
  readonly report: Report
}

const optimizer = "BootstrapFewShot"

const State = Schema.Struct({
  /** How many examples of the (shuffled) order are done. */
  position: Schema.Number,
  attempted: Schema.Number,
  passed: Schema.Number,
  errors: Schema.Number,
  lastError: Schema.String,
  /** Example indexes whose run passed, in order. */
  bootstrapped: Schema.Array(Schema.Number),
  /** One demo per passing example and predictor path. */
  traces: Schema.Record({ key: Schema.String, value: Schema.Array(Schemas.Demo) }),
  trials: Schema.Array(Schemas.Trial)
})
type State = typeof State.Type

/** A labelled demo of the default teacher, with the example it came from. */
interface Pooled {
  readonly demo: Demo.Encoded
  readonly index: number
}

/**
 * One of a predictor's calls in a run: the only one, else (as DSPy) the last or one of the
 * others, half and half, so that a multi-step predictor is shown a step that is not always the
 * first.
 */
const oneCall = (entries: ReadonlyArray<Prediction.TraceEntry>, seed: number, index: number, path: string) => {
  if (entries.length <= 1) return entries[0]
  const rng = rngFor(seed, "trace", index, path)
  return rng.next() < 0.5 ? entries[entries.length - 1] : entries[rng.int(entries.length - 1)]
}

/**
 * Bootstraps demos for the student. Returns the compiled program and a report.
 *
 * @example
 * ```ts
 * import { ChainOfThought, Signature } from "@effect-dspy/core"
 * import { BootstrapFewShot, Example, Metric } from "@effect-dspy/optimize"
 * const solve = ChainOfThought.make(Signature.fromString("problem -> answer: number"))
 * const trainset = [Example.make({ problem: "2 apples and 3 apples?" }, { answer: 5 })]
 * const compiled = BootstrapFewShot.compile(solve, trainset, { metric: Metric.numericTolerance("answer", 0) })
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
    const maxBootstrapped = Math.max(0, options.maxBootstrappedDemos ?? 4)
    const maxLabeled = Math.max(0, options.maxLabeledDemos ?? 16)
    const threshold = options.metricThreshold ?? 1
    const concurrency = Math.max(1, options.concurrency ?? 8)
    const maxRounds = Math.max(1, options.maxRounds ?? 1)
    const maxErrors = options.maxErrors ?? 10
    const seed = options.seed ?? 0
    const order = options.seed === undefined
      ? trainset.map((_, index) => index)
      : makeRng(options.seed).shuffle(trainset.map((_, index) => index))

    // The teacher: the user's, or the student with labelled demos from the train set, each
    // demo remembering its example so that it can be left out of that example's run.
    const teacher: Module.Module<I, O, unknown, R | TR> = options.teacher ?? student
    const studentPaths = student.predictors.map((p) => `${p.path}:${p.signature.name}`).join(", ")
    const teacherPaths = teacher.predictors.map((p) => `${p.path}:${p.signature.name}`).join(", ")
    if (studentPaths !== teacherPaths) {
      return yield* new InvalidOptions({
        optimizer,
        reason: `the teacher's predictors (${teacherPaths}) differ from the student's (${studentPaths})`
      })
    }
    const pool = new Map<string, ReadonlyArray<Pooled>>()
    const misfits = new Misfits()
    if (options.teacher === undefined) {
      for (const predictor of student.predictors) {
        const list: Array<Pooled> = []
        for (const index of order.slice(0, maxLabeled)) {
          const demo = misfits.demo(predictor.path, predictor.signature, fieldsOf(trainset[index]!), index)
          if (demo !== undefined) list.push({ demo, index })
        }
        pool.set(predictor.path, list)
      }
    }
    // The teacher of one example: none of its demos made from that example.
    const teacherFor = (index: number): Module.Module<I, O, unknown, R | TR> => {
      const input = trainset[index]!.input
      return teacher.withState({
        predictors: Object.fromEntries(teacher.predictors.map((p) => {
          const demos = options.teacher === undefined
            ? (pool.get(p.path) ?? []).filter((d) => d.index !== index).map((d) => d.demo)
            : p.state.demos
          return [p.path, { instructions: p.state.instructions, demos: demos.filter((d) => !isDemoOf(p.signature, d, input)) }]
        }))
      })
    }

    const store = checkpointer(
      options.checkpoint,
      optimizer,
      fingerprint({
        threshold,
        maxBootstrapped,
        maxLabeled,
        maxRounds,
        seed: options.seed ?? null,
        train: trainset.map(fieldsOf),
        student: describeState(student),
        teacher: options.teacher === undefined ? null : describeState(options.teacher)
      }),
      State
    )
    const resumed = yield* store.resume
    const initial: State = Option.match(resumed, {
      onNone: () => ({
        position: 0,
        attempted: 0,
        passed: 0,
        errors: 0,
        lastError: "",
        bootstrapped: [],
        traces: Object.fromEntries(student.predictors.map((p) => [p.path, []])),
        trials: []
      }),
      onSome: (r) => r.state
    })

    // One example: up to `maxRounds` runs until one passes.
    type Outcome =
      | { readonly _tag: "Passed"; readonly rounds: number; readonly score: number; readonly demos: Record<string, Demo.Encoded> }
      | { readonly _tag: "Failed"; readonly rounds: number; readonly score: number }
      | { readonly _tag: "Error"; readonly rounds: number; readonly error: string }
    const attempt = (index: number): Effect.Effect<Outcome, never, R | TR | MR> => {
      const example = trainset[index]!
      const program = teacherFor(index)
      const pathById = new Map(program.predictors.map((p) => [p.id, p.path]))
      const round = (r: number, best: number): Effect.Effect<Outcome, never, R | TR | MR> =>
        program(example.input).pipe(
          r === 0 ? (self) => self : LmConfig.withSettings({ temperature: 1, rolloutId: r }),
          Effect.flatMap((prediction) => Effect.map(verdict(options.metric, example, prediction), (v) => ({ prediction, v }))),
          Effect.matchCauseEffect({
            onFailure: (cause): Effect.Effect<Outcome> =>
              Cause.isInterruptedOnly(cause)
                ? Effect.interrupt
                : Effect.succeed({ _tag: "Error", rounds: r + 1, error: describeCause(cause) }),
            onSuccess: ({ prediction, v }): Effect.Effect<Outcome, never, R | TR | MR> => {
              if (v.score >= threshold) {
                const byPath = new Map<string, Array<Prediction.TraceEntry>>()
                for (const entry of prediction.trace) {
                  const path = pathById.get(entry.predictorId)
                  if (path === undefined) continue
                  byPath.set(path, [...(byPath.get(path) ?? []), entry])
                }
                const demos: Record<string, Demo.Encoded> = {}
                for (const [path, entries] of byPath) {
                  const entry = oneCall(entries, seed, index, path)
                  if (entry !== undefined) demos[path] = { ...entry.inputs, ...entry.outputs }
                }
                return Effect.succeed({ _tag: "Passed", rounds: r + 1, score: v.score, demos })
              }
              const score = Math.max(best, v.score)
              return r + 1 < maxRounds ? round(r + 1, score) : Effect.succeed({ _tag: "Failed", rounds: r + 1, score })
            }
          })
        )
      return round(0, Number.NEGATIVE_INFINITY)
    }

    const { state, usage } = yield* metered(Option.match(resumed, { onNone: () => undefined, onSome: (r) => r.usage }) ?? Usage.empty, (meter) =>
      Effect.gen(function*() {
        let state = initial
        while (state.position < order.length && state.passed < maxBootstrapped) {
          const chunk = order.slice(state.position, state.position + concurrency)
          const outcomes = yield* Effect.forEach(chunk, attempt, { concurrency })
          let { attempted, errors, lastError, passed } = state
          const bootstrapped = [...state.bootstrapped]
          const traces: Record<string, Array<Demo.Encoded>> = Object.fromEntries(
            Object.entries(state.traces).map(([path, list]) => [path, [...list]])
          )
          const trials = [...state.trials]
          let position = state.position
          // Outcomes are read in example order, so the result does not depend on which call
          // finished first; the examples after the last one needed are not counted.
          for (const [offset, outcome] of outcomes.entries()) {
            if (passed >= maxBootstrapped) break
            const index = chunk[offset]!
            position++
            attempted += outcome.rounds
            if (outcome._tag === "Error") {
              errors++
              lastError = outcome.error
              trials.push({ index: trials.length, kind: "bootstrap", label: `example ${index}`, score: 0, examples: 1 })
              if (errors > maxErrors) {
                return yield* new TooManyErrors({ optimizer, errors, maxErrors, lastError })
              }
              continue
            }
            trials.push({ index: trials.length, kind: "bootstrap", label: `example ${index}`, score: outcome.score, examples: 1 })
            if (outcome._tag === "Passed") {
              passed++
              bootstrapped.push(index)
              for (const [path, demo] of Object.entries(outcome.demos)) traces[path] = [...(traces[path] ?? []), demo]
            }
          }
          state = { position, attempted, passed, errors, lastError, bootstrapped, traces, trials }
          yield* store.save(state, meter.usage())
          yield* EventBus.publish({
            type: "optimization.bootstrap.progress",
            optimizer,
            data: { done: position, total: order.length, attempted, passed, errors }
          })
        }
        return { state, usage: meter.usage() }
      }))

    // Top up with labelled demos from the examples that gave none, sampled with the seed.
    const used = new Set(state.bootstrapped)
    const rest = order.filter((index) => !used.has(index))
    const next: Record<string, Module.PredictorState> = {}
    const counts: Record<string, number> = {}
    const labeledCounts: Record<string, number> = {}
    for (const predictor of student.predictors) {
      const list: Array<Demo.Encoded> = (state.traces[predictor.path] ?? []).slice(0, maxBootstrapped)
      counts[predictor.path] = list.length
      const rng = rngFor(seed, "labeled", predictor.path)
      const sampled = rng.shuffle(rest)
      let labeled = 0
      for (const index of sampled) {
        if (list.length >= maxLabeled) break
        const demo = misfits.demo(predictor.path, predictor.signature, fieldsOf(trainset[index]!), index)
        if (demo === undefined) continue
        list.push(demo)
        labeled++
      }
      labeledCounts[predictor.path] = labeled
      next[predictor.path] = { instructions: predictor.state.instructions, demos: list }
    }
    yield* misfits.warn(optimizer)
    const report: Report = {
      optimizer,
      trials: state.trials,
      baselineScore: undefined,
      bestScore: undefined,
      usage,
      metricCalls: state.attempted - state.errors,
      resumed: Option.isSome(resumed),
      stoppedEarly: undefined,
      attempted: state.attempted,
      passed: state.passed,
      errors: state.errors,
      demos: counts,
      labeled: labeledCounts
    }
    yield* EventBus.publish({
      type: "optimization.bootstrap.end",
      optimizer,
      data: { attempted: report.attempted, passed: report.passed, errors: report.errors, demos: counts, labeled: labeledCounts }
    })
    return { program: student.withState({ predictors: next }), report }
  }).pipe(Effect.withSpan(optimizer, { captureStackTrace: false }), withRunCache(options.cache))
