/**
 * `BootstrapFewShot`: runs a teacher program on train examples, keeps the traces whose
 * outputs pass the metric, and installs them as demos in every named predictor of the student
 * (multi-predictor programs included), topped up with labelled demos.
 *
 * @since 0.1.0
 */
import { type Demo, EventBus, LmConfig, type Module } from "@effect-dspy/core"
import * as Effect from "effect/Effect"
import type { Example } from "./Example.js"
import { fieldsOf, labeledDemo, withDemos } from "./internal/demos.js"
import { makeRng } from "./internal/random.js"
import * as LabeledFewShot from "./LabeledFewShot.js"
import { type Metric, score } from "./Metric.js"

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
  /** Bootstrapped demos per predictor (default 4). */
  readonly maxBootstrappedDemos?: number | undefined
  /** Total demos per predictor, topped up with labelled ones (default 16). */
  readonly maxLabeledDemos?: number | undefined
  /** Passes over the train set, each at a slightly higher temperature (default 1). */
  readonly maxRounds?: number | undefined
  /** Teacher calls at once (default 8). */
  readonly concurrency?: number | undefined
  /** Shuffle the train set with this seed before bootstrapping (default: keep its order). */
  readonly seed?: number | undefined
}

/**
 * What bootstrapping found, for reports and events.
 *
 * @since 0.1.0
 */
export interface Report {
  readonly attempted: number
  readonly passed: number
  readonly demos: Readonly<Record<string, number>>
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
): Effect.Effect<{ readonly program: Module.Module<I, O, E, R>; readonly report: Report }, never, R | MR | TR> =>
  Effect.gen(function*() {
    const maxBootstrapped = options.maxBootstrappedDemos ?? 4
    const maxLabeled = options.maxLabeledDemos ?? 16
    const threshold = options.metricThreshold ?? 1
    const concurrency = Math.max(1, options.concurrency ?? 8)
    const examples = options.seed === undefined ? [...trainset] : makeRng(options.seed).shuffle(trainset)
    const teacher: Module.Module<I, O, unknown, R | TR> = options.teacher ??
      (yield* LabeledFewShot.compile(student, trainset, { k: maxLabeled }))
    const pathById = new Map(teacher.predictors.map((p) => [p.id, p.path]))
    const bootstrapped = new Map<string, Array<Demo.Encoded>>(student.predictors.map((p) => [p.path, []]))
    const used = new Set<number>()
    const full = () => [...bootstrapped.values()].every((list) => list.length >= maxBootstrapped)
    let attempted = 0
    let passed = 0

    const tryExample = (example: Example<I, O>, round: number) =>
      teacher(example.input).pipe(
        // Later rounds sample at a higher temperature with a fresh rollout, so they can differ.
        round === 0 ? (self) => self : LmConfig.withSettings({ temperature: 0.7 + 0.001 * round, rolloutId: round }),
        Effect.flatMap((prediction) =>
          Effect.map(score(options.metric, example, prediction), (value) => ({ prediction, value }))
        ),
        Effect.option
      )

    // Examples run in chunks of `concurrency`; results are taken in example order, so the
    // outcome does not depend on which call finishes first.
    for (let round = 0; round < Math.max(1, options.maxRounds ?? 1) && !full(); round++) {
      for (let start = 0; start < examples.length && !full(); start += concurrency) {
        const chunk = examples.slice(start, start + concurrency).map((example, offset) => ({ example, index: start + offset }))
          .filter(({ index }) => !used.has(index))
        const outcomes = yield* Effect.forEach(chunk, ({ example }) => tryExample(example, round), { concurrency })
        for (const [i, outcome] of outcomes.entries()) {
          attempted++
          if (outcome._tag === "None" || outcome.value.value < threshold) continue
          passed++
          used.add(chunk[i]!.index)
          for (const entry of outcome.value.prediction.trace) {
            const path = pathById.get(entry.predictorId)
            const list = path === undefined ? undefined : bootstrapped.get(path)
            if (list !== undefined && list.length < maxBootstrapped) list.push({ ...entry.inputs, ...entry.outputs })
          }
        }
        yield* EventBus.publish({
          type: "optimization.bootstrap.progress",
          optimizer: "BootstrapFewShot",
          data: { round, attempted, passed }
        })
      }
    }

    // Top up with labelled demos from examples that were not bootstrapped.
    const rest = examples.filter((_, index) => !used.has(index))
    const demos = new Map<string, ReadonlyArray<Demo.Encoded>>()
    for (const predictor of student.predictors) {
      const list = [...(bootstrapped.get(predictor.path) ?? [])]
      for (const example of rest) {
        if (list.length >= maxLabeled) break
        const demo = labeledDemo(predictor.signature, fieldsOf(example))
        if (demo !== undefined) list.push(demo)
      }
      demos.set(predictor.path, list)
    }
    const report: Report = {
      attempted,
      passed,
      demos: Object.fromEntries([...bootstrapped].map(([path, list]) => [path, list.length]))
    }
    yield* EventBus.publish({ type: "optimization.bootstrap.end", optimizer: "BootstrapFewShot", data: { ...report } })
    return { program: student.withState(withDemos(student, demos)), report }
  }).pipe(Effect.withSpan("BootstrapFewShot", { captureStackTrace: false }))
