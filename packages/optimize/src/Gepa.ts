/**
 * `Gepa`: GEPA, reflective prompt evolution (Agrawal et al., 2025). It evolves the instructions
 * of a program's predictors by having a language model reflect on what went wrong:
 *
 * 1. The program as given is scored on every validation example; it is the first candidate.
 * 2. Each iteration picks a parent from the **Pareto front** (candidates best on some validation
 *    example, the dominated ones removed, drawn in proportion to how many examples they are best
 *    on), picks a predictor (round robin), runs the parent on a minibatch of train examples and
 *    asks the metric for a score and **textual feedback** (`Metric.withFeedback`) on each.
 * 3. A **reflection** LM call (the `reflectionModel`, else the `LanguageModel` in context) is
 *    shown the predictor's instruction and, for each example, its inputs, its outputs and the
 *    feedback, and writes a new instruction.
 * 4. The child is scored on the same minibatch; only when it does strictly better is it scored
 *    on the whole validation set and added to the pool.
 * 5. **Merge**: after a new candidate is found, two candidates that improved different
 *    predictors since a common ancestor are combined (each predictor from the side that changed
 *    it), judged on a few validation examples where they differ, and kept when not worse than
 *    either.
 *
 * The budget is in metric calls (program runs scored): `maxMetricCalls`, `maxFullEvals` or an
 * `auto` preset, exactly one. The run returns the candidate with the best mean validation score
 * (ties go to the program as given). Every LM call goes through the `LanguageModel` in context
 * or the reflection model the user passes, so cache layers the user provides apply; reflections
 * set a temperature of 1 and a distinct `rolloutId` each.
 *
 * @since 0.2.0
 */
import { EventBus, type Module, Predict, Signature, Usage } from "@effect-dspy/core"
import type * as LanguageModel from "@effect/ai/LanguageModel"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { Store } from "./Checkpoint.js"
import * as Evaluate from "./Evaluate.js"
import type { Example } from "./Example.js"
import { cannotSucceed } from "./internal/baseline.js"
import { checkpointer } from "./internal/checkpoint.js"
import { describeState, fieldsOf } from "./internal/demos.js"
import { metered } from "./internal/meter.js"
import * as Pareto from "./internal/pareto.js"
import { attempt, stripProposal } from "./internal/proposer.js"
import { derive, fingerprint, rngFor } from "./internal/random.js"
import * as Schemas from "./internal/schemas.js"
import type { Metric } from "./Metric.js"
import { type CheckpointError, type CheckpointMismatch, InvalidOptions, TooManyErrors } from "./OptimizeError.js"
import type * as OptimizerReport from "./Report.js"
import { withRunCache } from "./internal/runCache.js"

/**
 * The signature of the reflection step.
 *
 * @since 0.2.0
 */
export const ReflectInstruction = Signature.make("ReflectInstruction", {
  instructions:
    "An assistant was given the instruction below and worked through the examples shown; each example lists its inputs, the assistant's outputs and feedback on them. Write a better instruction for the assistant. Work out the task and the format of its inputs from the examples, keep what worked, and put into the instruction the specific facts, rules and strategies that the feedback shows were missing, since the assistant will not see the feedback again.",
  input: {
    current_instruction: Schema.String.annotations({ description: "The instruction the assistant was given" }),
    examples_with_feedback: Schema.String.annotations({ description: "Inputs, the assistant's outputs and feedback, per example" })
  },
  output: {
    new_instruction: Schema.String.annotations({ description: "The improved instruction" })
  }
})

/**
 * The presets of `auto`: the candidate count MIPROv2 would use, from which the budget in metric
 * calls is derived (see `autoBudget`).
 *
 * @since 0.2.0
 */
export const presets = { light: 6, medium: 12, heavy: 18 } as const

/**
 * The budget in metric calls of an `auto` preset, as DSPy's GEPA derives it: the cost of a
 * MIPROv2 run of the same size (a full baseline evaluation, bootstrapping, minibatch trials of 35
 * and a full evaluation every 5 trials).
 *
 * @since 0.2.0
 */
export const autoBudget = (predictors: number, candidates: number, valSize: number): number => {
  const minibatch = 35
  const steps = 5
  const trials = Math.floor(Math.max(2 * (predictors * 2) * Math.log2(candidates), 1.5 * candidates))
  let total = valSize + candidates * 5 + trials * minibatch
  if (trials === 0) return total
  const periodic = Math.floor((trials + 1) / steps) + 1
  const extra = trials < steps ? 1 : 0
  total += (periodic + extra) * valSize
  return total
}

/**
 * Options of `compile`.
 *
 * @since 0.2.0
 */
export interface Options<I, O, ME, MR, RE = never, RR = never> {
  /** The metric; one that returns `Metric.withFeedback` gives the reflection something to act on. */
  readonly metric: Metric<I, O, ME, MR>
  /** Validation set for the Pareto front (default: the train set, with a warning). */
  readonly valset?: ReadonlyArray<Example<I, O>> | undefined
  /** A preset budget. Exactly one of `auto`, `maxFullEvals`, `maxMetricCalls`. */
  readonly auto?: "light" | "medium" | "heavy" | undefined
  /** Budget in full evaluations of train + validation sets. */
  readonly maxFullEvals?: number | undefined
  /** Budget in metric calls (program runs scored). A full evaluation may overshoot it once. */
  readonly maxMetricCalls?: number | undefined
  /** Train examples per reflection (default 3). */
  readonly reflectionMinibatchSize?: number | undefined
  /** How to pick a parent: from the Pareto front (default) or the best by mean score. */
  readonly candidateSelection?: "pareto" | "currentBest" | undefined
  /** Which predictors one iteration rewrites: one in turn (default) or all. */
  readonly componentSelector?: "roundRobin" | "all" | undefined
  /** Skip reflecting on a minibatch where every score reached `perfectScore` (default true). */
  readonly skipPerfectScore?: boolean | undefined
  /** The best score the metric gives (default 1). */
  readonly perfectScore?: number | undefined
  /** Score of a run that failed (default 0). */
  readonly failureScore?: number | undefined
  /** Show the reflection runs that failed to produce an output, with the error (default false). */
  readonly addFormatFailureAsFeedback?: boolean | undefined
  /** Merge candidates (default true). */
  readonly useMerge?: boolean | undefined
  /** Merges tried at most (default 5). */
  readonly maxMergeInvocations?: number | undefined
  /** Validation examples a merge is judged on before its full evaluation (default 5). */
  readonly mergeSubsampleSize?: number | undefined
  /**
   * The model that reflects (DSPy's `reflection_lm`, best a strong one); default: the
   * `LanguageModel` in context. Built once for the run.
   */
  readonly reflectionModel?: Layer.Layer<LanguageModel.LanguageModel, RE, RR> | undefined
  /** Program runs at once in every evaluation (default 8). */
  readonly concurrency?: number | undefined
  /**
   * Failed runs of the program as given before one succeeds, and reflection calls failing in a
   * row (the model errs or its reply holds no instruction), tolerated before the run stops with
   * `TooManyErrors` rather than spend its budget where no candidate can come (default 10).
   *
   * @since 0.2.0
   */
  readonly maxErrors?: number | undefined
  /** Save progress here after each iteration and resume from it (see `Checkpoint`). */
  readonly checkpoint?: Store | undefined
  readonly seed?: number | undefined
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
 * One candidate of the pool.
 *
 * @since 0.2.0
 */
export interface Candidate {
  /** Instruction per predictor path. */
  readonly instructions: Readonly<Record<string, string>>
  /** The candidates it came from: one for a mutation, two for a merge, none for the seed. */
  readonly parents: ReadonlyArray<number>
  /** Score per validation example. */
  readonly scores: ReadonlyArray<number>
  readonly meanScore: number
  /** Metric calls spent when it was found. */
  readonly discoveredAt: number
}

/**
 * The report of a run.
 *
 * @since 0.2.0
 */
export interface Report extends OptimizerReport.Report {
  readonly budget: number
  readonly candidates: ReadonlyArray<Candidate>
  /** Indexes of the candidates on the Pareto front, dominated ones removed. */
  readonly paretoFront: ReadonlyArray<number>
  /** Index of the returned candidate. */
  readonly best: number
  readonly iterations: number
  readonly reflections: { readonly accepted: number; readonly rejected: number; readonly skipped: number; readonly perfect: number }
  readonly merges: { readonly tried: number; readonly accepted: number }
}

/**
 * The optimized program and the report.
 *
 * @since 0.2.0
 */
export interface Result<I, O, E, R> {
  readonly program: Module.Module<I, O, E, R>
  readonly report: Report
}

const optimizer = "Gepa"

const State = Schema.Struct({
  candidates: Schema.Array(Schema.Struct({
    instructions: Schema.Record({ key: Schema.String, value: Schema.String }),
    parents: Schema.Array(Schema.Number),
    scores: Schema.Array(Schema.Number),
    discoveredAt: Schema.Number
  })),
  nextPredictor: Schema.Array(Schema.Number),
  iteration: Schema.Number,
  reflectionBatches: Schema.Number,
  metricCalls: Schema.Number,
  mergesDue: Schema.Number,
  mergesTried: Schema.Number,
  mergesAccepted: Schema.Number,
  lastFoundNew: Schema.Boolean,
  triedMerges: Schema.Array(Schema.String),
  reflections: Schema.Struct({ accepted: Schema.Number, rejected: Schema.Number, skipped: Schema.Number, perfect: Schema.Number }),
  /** Reflection calls that failed since the last one that answered. */
  reflectionErrorsInARow: Schema.Number,
  trials: Schema.Array(Schemas.Trial)
})
type State = typeof State.Type

const reflector = Predict.make(ReflectInstruction)

const valueText = (value: unknown): string => (typeof value === "string" ? value : JSON.stringify(value, null, 2) ?? "")

/**
 * Runs GEPA. Returns the best candidate as a program and a report.
 *
 * @example
 * ```ts
 * import { Predict, Signature } from "@effect-dspy/core"
 * import { Example, Gepa, Metric } from "@effect-dspy/optimize"
 * const qa = Predict.make(Signature.fromString("question -> answer"))
 * const trainset = [Example.make({ question: "2+2?" }, { answer: "4" })]
 * const metric: Metric.Metric<{ readonly question: string }, { readonly answer: string }> = (example, prediction) =>
 *   prediction.output.answer === example.expected.answer
 *     ? Metric.withFeedback(1, "Correct.")
 *     : Metric.withFeedback(0, `Expected ${example.expected.answer}.`)
 * const evolved = Gepa.compile(qa, trainset, { metric, maxMetricCalls: 200, seed: 1 })
 * ```
 *
 * @since 0.2.0
 */
export const compile = <I, O, E, R, ME = never, MR = never, RE = never, RR = never>(
  student: Module.Module<I, O, E, R>,
  trainset: ReadonlyArray<Example<NoInfer<I>, NoInfer<O>>>,
  options: Options<NoInfer<I>, NoInfer<O>, ME, MR, RE, RR>
): Effect.Effect<
  Result<I, O, E, R>,
  InvalidOptions | TooManyErrors | CheckpointError | CheckpointMismatch | RE,
  R | MR | RR | LanguageModel.LanguageModel
> =>
  Effect.gen(function*() {
    const seed = options.seed ?? 0
    const predictors = student.predictors
    const paths = predictors.map((p) => p.path)
    if (trainset.length === 0) return yield* new InvalidOptions({ optimizer, reason: "the train set is empty" })
    if (predictors.length === 0) {
      return yield* new InvalidOptions({ optimizer, reason: "the program has no predictors to optimize" })
    }
    if (options.valset !== undefined && options.valset.length === 0) {
      return yield* new InvalidOptions({ optimizer, reason: "the validation set is empty" })
    }
    const budgets = [options.auto, options.maxFullEvals, options.maxMetricCalls].filter((b) => b !== undefined).length
    if (budgets !== 1) {
      return yield* new InvalidOptions({
        optimizer,
        reason: `set exactly one of auto, maxFullEvals, maxMetricCalls (${budgets === 0 ? "none is" : "several are"} set)`
      })
    }
    const val = options.valset ?? trainset
    if (options.valset === undefined) {
      yield* Effect.logWarning(
        "Gepa: no valset given, so the train set is also the validation set; the result fits these examples and may not generalize"
      )
    }
    const budget = options.auto !== undefined
      ? autoBudget(predictors.length, presets[options.auto], val.length)
      : options.maxFullEvals !== undefined
      ? options.maxFullEvals * (trainset.length + (options.valset === undefined ? 0 : val.length))
      : options.maxMetricCalls!
    const batchSize = Math.max(1, Math.min(options.reflectionMinibatchSize ?? 3, trainset.length))
    // The program as given on the validation set, then a parent and a child on one minibatch:
    // a smaller budget pays for the baseline and cannot find anything.
    const smallest = val.length + 2 * batchSize
    if (!(budget >= smallest)) {
      return yield* new InvalidOptions({
        optimizer,
        reason: `a budget of ${budget} metric calls cannot find anything: scoring the program as given on the ${val.length} validation examples and one reflection on a minibatch of ${batchSize} take ${smallest}`
      })
    }
    const perfectScore = options.perfectScore ?? 1
    const skipPerfect = options.skipPerfectScore ?? true
    const useMerge = options.useMerge ?? true
    const maxMerges = options.maxMergeInvocations ?? 5
    const concurrency = Math.max(1, options.concurrency ?? 8)
    const failureScore = options.failureScore ?? 0
    const maxErrors = options.maxErrors ?? 10
    yield* Effect.logInfo(
      `Gepa: a budget of ${budget} metric calls (≈ ${(budget / (trainset.length + (options.valset === undefined ? 0 : val.length))).toFixed(2)} full evaluations of the ${
        options.valset === undefined ? "train" : "train + validation"
      } set), ${val.length} validation examples, minibatches of ${batchSize}`
    )
    yield* EventBus.publish({ type: "optimization.gepa.plan", optimizer, data: { budget, valSize: val.length, batchSize } })

    const store = checkpointer(
      options.checkpoint,
      optimizer,
      fingerprint({
        seed,
        budget,
        batchSize,
        perfectScore,
        skipPerfect,
        useMerge,
        maxMerges,
        failureScore,
        selection: options.candidateSelection ?? "pareto",
        components: options.componentSelector ?? "roundRobin",
        formatFailures: options.addFormatFailureAsFeedback ?? false,
        mergeSubsample: options.mergeSubsampleSize ?? 5,
        train: trainset.map(fieldsOf),
        val: options.valset === undefined ? null : val.map(fieldsOf),
        student: describeState(student)
      }),
      State
    )
    const resumed = yield* store.resume
    const reflectionContext = options.reflectionModel === undefined ? undefined : yield* Layer.build(options.reflectionModel)
    const onReflectionModel = <A, E2, R2>(effect: Effect.Effect<A, E2, R2>) =>
      reflectionContext === undefined ? effect : Effect.provide(effect, reflectionContext)

    const programOf = (instructions: Readonly<Record<string, string>>) =>
      student.withState({
        predictors: Object.fromEntries(predictors.map((p) => [p.path, { instructions: instructions[p.path] ?? p.state.instructions, demos: p.state.demos }]))
      })
    const evaluate = (
      program: Module.Module<I, O, E, R>,
      examples: ReadonlyArray<Example<I, O>>,
      name: string,
      extra?: { readonly predictor?: string | undefined; readonly maxFailuresBeforeSuccess?: number | undefined }
    ) =>
      Evaluate.run(program, examples, options.metric, {
        name: `${student.name} ${name}`,
        concurrency,
        progress: false,
        failureScore,
        metricContext: extra?.predictor === undefined ? undefined : { predictor: extra.predictor },
        maxFailuresBeforeSuccess: extra?.maxFailuresBeforeSuccess
      })
    // The train examples of reflection batch k: the train set in an order reshuffled each epoch.
    const batchAt = (k: number): Array<Example<I, O>> => {
      const out: Array<Example<I, O>> = []
      for (let position = k * batchSize; out.length < batchSize; position++) {
        const epoch = Math.floor(position / trainset.length)
        const order = rngFor(seed, "epoch", epoch).shuffle(trainset.map((_, i) => i))
        out.push(trainset[order[position % trainset.length]!]!)
      }
      return out
    }

    const result = yield* metered(Option.match(resumed, { onNone: () => Usage.empty, onSome: (r) => r.usage }), (meter) =>
      Effect.gen(function*() {
        let state: State = Option.match(resumed, {
          onSome: (r) => r.state,
          onNone: (): State => ({
            candidates: [],
            nextPredictor: [],
            iteration: 0,
            reflectionBatches: 0,
            metricCalls: 0,
            mergesDue: 0,
            mergesTried: 0,
            mergesAccepted: 0,
            lastFoundNew: false,
            triedMerges: [],
            reflections: { accepted: 0, rejected: 0, skipped: 0, perfect: 0 },
            reflectionErrorsInARow: 0,
            trials: []
          })
        })
        const save = (next: State) => Effect.zipRight(Effect.sync(() => (state = next)), store.save(next, meter.usage()))
        const scores = () => state.candidates.map((c) => c.scores)
        const addCandidate = (
          next: State,
          instructions: Readonly<Record<string, string>>,
          parents: ReadonlyArray<number>,
          valScores: ReadonlyArray<number>,
          kind: string
        ): State => ({
          ...next,
          candidates: [...next.candidates, { instructions, parents, scores: valScores, discoveredAt: next.metricCalls }],
          nextPredictor: [...next.nextPredictor, 0],
          trials: [...next.trials, {
            index: next.trials.length,
            kind,
            label: `candidate ${next.candidates.length}${parents.length === 0 ? "" : ` from ${parents.join(" + ")}`}`,
            score: Pareto.mean(valScores),
            examples: valScores.length
          }]
        })

        // The program as given, on the whole validation set.
        if (state.candidates.length === 0) {
          const seedInstructions = Object.fromEntries(predictors.map((p) => [p.path, p.state.instructions]))
          const evaluation = yield* evaluate(programOf(seedInstructions), val, "baseline", { maxFailuresBeforeSuccess: maxErrors })
          const hopeless = cannotSucceed(optimizer, evaluation, maxErrors)
          if (hopeless !== undefined) return yield* hopeless
          yield* save(addCandidate(
            { ...state, metricCalls: evaluation.rows.length },
            seedInstructions,
            [],
            evaluation.rows.map((r) => r.score),
            "baseline"
          ))
          yield* EventBus.publish({ type: "optimization.gepa.candidate", optimizer, data: { index: 0, score: evaluation.mean } })
        }

        while (state.metricCalls < budget) {
          const iteration = state.iteration + 1
          const rng = rngFor(seed, "iteration", iteration)

          // Merge, when a new candidate came in last time and merges are due.
          if (useMerge && state.mergesDue > 0 && state.lastFoundNew) {
            const merge = Pareto.findMerge(state.candidates, scores(), new Set(state.triedMerges), rng)
            if (merge !== undefined) {
              const left = state.candidates[merge.left]!.scores
              const right = state.candidates[merge.right]!.scores
              const subsample = Pareto.mergeSubsample(left, right, options.mergeSubsampleSize ?? 5, rng)
              const program = programOf(merge.instructions)
              const quick = yield* evaluate(program, subsample.map((i) => val[i]!), `merge ${iteration}`)
              const sum = (list: ReadonlyArray<number>) => subsample.reduce((total, i) => total + list[i]!, 0)
              const quickSum = quick.rows.reduce((total, r) => total + r.score, 0)
              let next: State = {
                ...state,
                iteration,
                lastFoundNew: false,
                mergesTried: state.mergesTried + 1,
                triedMerges: [...state.triedMerges, merge.key],
                metricCalls: state.metricCalls + quick.rows.length,
                trials: [...state.trials, {
                  index: state.trials.length,
                  kind: "merge",
                  label: `merge of ${merge.left} + ${merge.right} (ancestor ${merge.ancestor}) on ${subsample.length} examples`,
                  score: quick.mean,
                  examples: subsample.length
                }]
              }
              if (quickSum >= Math.max(sum(left), sum(right))) {
                const full = yield* evaluate(program, val, `merge ${iteration} full`)
                next = addCandidate(
                  { ...next, metricCalls: next.metricCalls + full.rows.length, mergesDue: next.mergesDue - 1, mergesAccepted: next.mergesAccepted + 1 },
                  merge.instructions,
                  [merge.left, merge.right],
                  full.rows.map((r) => r.score),
                  "merge"
                )
                yield* EventBus.publish({
                  type: "optimization.gepa.candidate",
                  optimizer,
                  data: { index: next.candidates.length - 1, parents: [merge.left, merge.right], score: full.mean, merge: true }
                })
              }
              yield* save(next)
              continue
            }
          }

          // Reflective mutation.
          const parent = options.candidateSelection === "currentBest"
            ? Pareto.bestByMean(scores())
            : Pareto.selectFromFront(scores(), rng)
          const parentCandidate = state.candidates[parent]!
          const targets = options.componentSelector === "all"
            ? paths
            : [paths[(state.nextPredictor[parent] ?? 0) % paths.length]!]
          const batch = batchAt(state.reflectionBatches)
          const parentProgram = programOf(parentCandidate.instructions)
          const pathById = new Map(parentProgram.predictors.map((p) => [p.id, p.path]))
          const before = yield* evaluate(parentProgram, batch, `iteration ${iteration}`, {
            predictor: targets.length === 1 ? targets[0] : undefined
          })
          let next: State = {
            ...state,
            iteration,
            lastFoundNew: false,
            reflectionBatches: state.reflectionBatches + 1,
            metricCalls: state.metricCalls + before.rows.length,
            nextPredictor: state.nextPredictor.map((n, i) => (i === parent ? n + 1 : n))
          }
          if (skipPerfect && before.rows.every((r) => r.score >= perfectScore)) {
            yield* save({ ...next, reflections: { ...next.reflections, perfect: next.reflections.perfect + 1 } })
            continue
          }

          // One reflection per target predictor, on the calls it made in this minibatch.
          const instructions: Record<string, string> = { ...parentCandidate.instructions }
          let changed = false
          let errorsInARow = next.reflectionErrorsInARow
          let lastError = ""
          for (const path of targets) {
            const sections: Array<string> = []
            for (const row of before.rows) {
              const calls = row.trace.filter((entry) => pathById.get(entry.predictorId) === path)
              const feedback = row.feedback ?? `This run got a score of ${row.score}.`
              if (calls.length === 0) {
                if (row.error === undefined || !(options.addFormatFailureAsFeedback ?? false)) continue
                sections.push([
                  `### Example ${sections.length + 1}`,
                  "#### Inputs",
                  ...Object.entries(fieldsOf({ input: row.input, expected: {} })).map(([k, v]) => `- ${k}: ${valueText(v)}`),
                  "#### Outputs",
                  `The step could not produce its outputs: ${row.error}`,
                  "#### Feedback",
                  feedback
                ].join("\n"))
                continue
              }
              const call = calls[rngFor(seed, "call", iteration, path, row.index).int(calls.length)]!
              sections.push([
                `### Example ${sections.length + 1}`,
                "#### Inputs",
                ...Object.entries(call.inputs).map(([k, v]) => `- ${k}: ${valueText(v)}`),
                "#### Outputs",
                ...Object.entries(call.outputs).map(([k, v]) => `- ${k}: ${valueText(v)}`),
                "#### Feedback",
                feedback
              ].join("\n"))
            }
            if (sections.length === 0) continue
            const reply = yield* onReflectionModel(attempt(
              reflector({ current_instruction: instructions[path]!, examples_with_feedback: sections.join("\n\n") }),
              { temperature: 1, rolloutId: derive(seed, "reflect", iteration, path) }
            ))
            const text = Either.isLeft(reply) ? "" : stripProposal(reply.right.output.new_instruction)
            if (text === "") {
              // A model that cannot reflect (a refused key, replies that cannot be read) would
              // have every iteration pay for a minibatch and find nothing.
              errorsInARow++
              lastError = Either.isLeft(reply) ? reply.left.description : "the reply held no instruction"
              yield* Effect.logWarning(`Gepa: reflection on ${path} skipped: ${lastError}`)
              continue
            }
            errorsInARow = 0
            if (text === instructions[path]) continue
            instructions[path] = text
            changed = true
          }
          next = { ...next, reflectionErrorsInARow: errorsInARow }
          if (errorsInARow > maxErrors) {
            yield* save({ ...next, reflections: { ...next.reflections, skipped: next.reflections.skipped + 1 } })
            return yield* new TooManyErrors({
              optimizer,
              errors: errorsInARow,
              maxErrors,
              lastError: `${errorsInARow} reflection calls in a row failed; the last: ${lastError}`
            })
          }
          const duplicate = state.candidates.some((c) => paths.every((p) => c.instructions[p] === instructions[p]))
          if (!changed || duplicate) {
            yield* save({ ...next, reflections: { ...next.reflections, skipped: next.reflections.skipped + 1 } })
            continue
          }

          // The child on the same minibatch; kept only when strictly better there.
          const child = programOf(instructions)
          const after = yield* evaluate(child, batch, `iteration ${iteration} child`)
          next = {
            ...next,
            metricCalls: next.metricCalls + after.rows.length,
            trials: [...next.trials, {
              index: next.trials.length,
              kind: "mutation",
              label: `${targets.join(", ")} of candidate ${parent} on ${batch.length} train examples (parent ${before.mean})`,
              score: after.mean,
              examples: batch.length
            }]
          }
          const beforeSum = before.rows.reduce((total, r) => total + r.score, 0)
          const afterSum = after.rows.reduce((total, r) => total + r.score, 0)
          if (afterSum <= beforeSum) {
            yield* save({ ...next, reflections: { ...next.reflections, rejected: next.reflections.rejected + 1 } })
            continue
          }
          const full = yield* evaluate(child, val, `iteration ${iteration} full`)
          next = addCandidate(
            {
              ...next,
              metricCalls: next.metricCalls + full.rows.length,
              lastFoundNew: true,
              mergesDue: useMerge && next.mergesTried + next.mergesDue < maxMerges ? next.mergesDue + 1 : next.mergesDue,
              reflections: { ...next.reflections, accepted: next.reflections.accepted + 1 }
            },
            instructions,
            [parent],
            full.rows.map((r) => r.score),
            "mutation"
          )
          yield* save(next)
          yield* EventBus.publish({
            type: "optimization.gepa.candidate",
            optimizer,
            data: { index: next.candidates.length - 1, parents: [parent], predictors: targets, score: full.mean }
          })
        }
        return { state, usage: meter.usage() }
      }))

    const { state } = result
    const all = state.candidates.map((c) => c.scores)
    const best = Pareto.bestByMean(all)
    const candidates: ReadonlyArray<Candidate> = state.candidates.map((c) => ({ ...c, meanScore: Pareto.mean(c.scores) }))
    const report: Report = {
      optimizer,
      trials: state.trials,
      baselineScore: candidates[0]?.meanScore,
      bestScore: candidates[best]?.meanScore,
      usage: result.usage,
      metricCalls: state.metricCalls,
      resumed: Option.isSome(resumed),
      stoppedEarly: undefined,
      budget,
      candidates,
      paretoFront: Pareto.nonDominated(all),
      best,
      iterations: state.iteration,
      reflections: state.reflections,
      merges: { tried: state.mergesTried, accepted: state.mergesAccepted }
    }
    yield* EventBus.publish({
      type: "optimization.gepa.end",
      optimizer,
      data: { baseline: report.baselineScore, best: report.bestScore, candidates: candidates.length, metricCalls: state.metricCalls }
    })
    return { program: programOf(state.candidates[best]!.instructions), report }
  }).pipe(Effect.scoped, Effect.withSpan(optimizer, { captureStackTrace: false }), withRunCache(options.cache))
