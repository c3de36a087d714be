/**
 * `Mipro`: MIPROv2 (Opsahl-Ong et al., 2024), which optimizes the instructions and the demos of
 * every predictor of a program together:
 *
 * 1. **Validation split.** Without a `valset`, the train set is shuffled with the seed and 80%
 *    of it becomes the validation set (demos come from the rest, so no score rewards copying).
 * 2. **Demo candidates.** Demo sets per predictor: the program's own, labelled only,
 *    bootstrapped in train order and bootstrapped from shuffled train sets of random sizes
 *    (`BootstrapFewShot`, which never shows an example its own demo).
 * 3. **Grounded proposals.** An LM (the `promptModel`, else the model in context) writes
 *    candidate instructions for each predictor, shown a summary of the data set, an outline and
 *    description of the program and of the step, bootstrapped demos and a prompting tip.
 *    Duplicates are dropped; a proposal that cannot be read is skipped and counted.
 * 4. **Bayesian search.** Each trial picks an instruction and a demo set per predictor with a
 *    Tree-structured Parzen Estimator (multivariate, over the categorical choices) that models
 *    which choices scored well, scores it on a minibatch of the validation set, and every few
 *    trials evaluates the best-averaging choice on the whole validation set. The program as
 *    given is trial 0 (its full score), and a candidate replaces the best only with a strictly
 *    higher full score, so ties go to the baseline.
 *
 * `auto` presets (light / medium / heavy) size the run as MIPROv2's do; the plan, with an
 * estimate of program runs and LM calls, is logged before the first call, and `maxLmCalls` caps
 * the LM calls of the search. Every LM call goes through the `LanguageModel` in context (or the
 * `promptModel` for proposals), so a cache layer the user provides applies; proposals set a
 * temperature of 1 and a distinct `rolloutId` each, so a cache does not merge them.
 *
 * @since 0.1.0
 */
import { type Demo, EventBus, type Module, Usage } from "@effect-dspy/core"
import type * as LanguageModel from "@effect/ai/LanguageModel"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as BootstrapFewShot from "./BootstrapFewShot.js"
import type { Store } from "./Checkpoint.js"
import * as Evaluate from "./Evaluate.js"
import type { Example } from "./Example.js"
import { cannotSucceed } from "./internal/baseline.js"
import { checkpointer } from "./internal/checkpoint.js"
import { describeState, fieldsOf } from "./internal/demos.js"
import { metered } from "./internal/meter.js"
import * as Proposer from "./internal/proposer.js"
import { derive, fingerprint, rngFor } from "./internal/random.js"
import * as Schemas from "./internal/schemas.js"
import { trainAndValidation } from "./internal/split.js"
import * as Tpe from "./internal/tpe.js"
import * as LabeledFewShot from "./LabeledFewShot.js"
import type { Metric } from "./Metric.js"
import { type CheckpointError, type CheckpointMismatch, InvalidOptions, type TooManyErrors } from "./OptimizeError.js"
import type * as OptimizerReport from "./Report.js"
import { withRunCache } from "./internal/runCache.js"

/**
 * The signature the proposer answers.
 *
 * @since 0.1.0
 */
export const ProposeInstruction = Proposer.ProposeInstruction

/**
 * The presets of `auto`: candidates per choice and the largest validation set, as MIPROv2's.
 *
 * @since 0.2.0
 */
export const presets = {
  light: { candidates: 6, maxValset: 100 },
  medium: { candidates: 12, maxValset: 300 },
  heavy: { candidates: 18, maxValset: 1000 }
} as const

/**
 * Options of `compile`.
 *
 * @since 0.1.0
 */
export interface Options<I, O, ME, MR, TR = never, PE = never, PR = never> {
  readonly metric: Metric<I, O, ME, MR>
  /** A score at or above this passes when bootstrapping demos (default 1). */
  readonly metricThreshold?: number | undefined
  /** The program whose traces become demos (see `BootstrapFewShot`). */
  readonly teacher?: Module.Module<I, O, unknown, TR> | undefined
  /** Validation set; default: 80% of the train set, split off with the seed. */
  readonly valset?: ReadonlyArray<Example<I, O>> | undefined
  /**
   * A preset that sizes the run (default `"light"` unless `numCandidates` and `numTrials` are
   * given). Setting it together with them is an error.
   *
   * @since 0.2.0
   */
  readonly auto?: "light" | "medium" | "heavy" | undefined
  /**
   * Candidates per choice: instructions (the current one included) and demo sets (the
   * program's own included). Needs `numTrials`.
   *
   * @since 0.2.0
   */
  readonly numCandidates?: number | undefined
  /** Instruction candidates per predictor, the current one included (default `numCandidates`). */
  readonly numInstructions?: number | undefined
  /** Demo-set candidates per predictor, the program's own included (default `numCandidates`). */
  readonly numDemoSets?: number | undefined
  /** Search trials (besides the baseline and the full evaluations). */
  readonly numTrials?: number | undefined
  /** Bootstrapped demos per predictor (default 4; 0 with `maxLabeledDemos: 0` optimizes instructions only). */
  readonly maxBootstrappedDemos?: number | undefined
  /** Labelled demos per predictor (default 4). */
  readonly maxLabeledDemos?: number | undefined
  /** Score trials on minibatches (default: when the validation set is larger than the minibatch). */
  readonly minibatch?: boolean | undefined
  /** Examples per minibatch (default 35). */
  readonly minibatchSize?: number | undefined
  /** A full evaluation of the best-averaging candidate every this many trials, and at the end (default 5). */
  readonly minibatchFullEvalSteps?: number | undefined
  /** Uniform trials before the TPE model is used (default: a quarter of the trials, 2 to 10). */
  readonly tpeStartupTrials?: number | undefined
  /** Show the proposer a summary of the data set (default true). */
  readonly dataAwareProposer?: boolean | undefined
  /** Show the proposer an outline and description of the program and the step (default true). */
  readonly programAwareProposer?: boolean | undefined
  /** Show the proposer bootstrapped demos of the step (default true). */
  readonly fewshotAwareProposer?: boolean | undefined
  /** Give the proposer a prompting tip drawn at random (default true). */
  readonly tipAwareProposer?: boolean | undefined
  /** Examples per data-summary call (default 10). */
  readonly viewDataBatchSize?: number | undefined
  /** Temperature of the proposals (default 1). */
  readonly initTemperature?: number | undefined
  /**
   * The model that writes proposals (DSPy's `prompt_model`); default: the `LanguageModel` in
   * context. Built once for the run.
   */
  readonly promptModel?: Layer.Layer<LanguageModel.LanguageModel, PE, PR> | undefined
  /** Program runs at once in every evaluation (default 8). */
  readonly concurrency?: number | undefined
  /**
   * Failed teacher runs tolerated while bootstrapping (see `BootstrapFewShot`), and failed runs
   * of the program as given before one succeeds, before the run stops with `TooManyErrors`
   * (default 10).
   */
  readonly maxErrors?: number | undefined
  /** Stop starting trials once the run has made this many LM calls (all models). */
  readonly maxLmCalls?: number | undefined
  /** Save progress here after each step and resume from it (see `Checkpoint`). */
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
 * The run's plan, logged before it starts. LM calls assume one call per predictor per program
 * run (a loop such as ReAct makes more) and bootstrapping every train example (it usually stops
 * sooner).
 *
 * @since 0.2.0
 */
export interface Plan {
  readonly auto: "light" | "medium" | "heavy" | undefined
  readonly trainSize: number
  readonly valSize: number
  readonly predictors: number
  readonly numInstructions: number
  readonly numDemoSets: number
  readonly numTrials: number
  readonly minibatch: boolean
  readonly minibatchSize: number
  readonly fullEvals: number
  readonly proposerCalls: number
  readonly bootstrapRuns: number
  readonly evaluationRuns: number
  readonly estimatedLmCalls: number
}

/**
 * What the proposer did.
 *
 * @since 0.2.0
 */
export interface Proposals {
  readonly requested: number
  readonly accepted: number
  /** Replies that could not be read (after the re-asks), or that held no instruction. */
  readonly unreadable: number
  /** Calls that failed otherwise (the model or the network). */
  readonly failed: number
  /** Proposals equal (up to case and spacing) to a candidate already kept. */
  readonly duplicates: number
  /** Grounding steps (data summary, program and step descriptions) that failed and were left out. */
  readonly groundingSkipped: number
}

/**
 * One choice of a trial: instruction and demo-set indexes per predictor path.
 *
 * @since 0.2.0
 */
export type Choice = Readonly<Record<string, { readonly instruction: number; readonly demoSet: number }>>

/**
 * The report of a run.
 *
 * @since 0.2.0
 */
export interface Report extends OptimizerReport.Report {
  readonly plan: Plan
  /** Instruction candidates per predictor path (index 0 is the program's own). */
  readonly instructions: Readonly<Record<string, ReadonlyArray<string>>>
  /** Demo-set candidates (index 0 is the program's own demos). */
  readonly demoSets: ReadonlyArray<Readonly<Record<string, ReadonlyArray<Demo.Encoded>>>>
  readonly proposals: Proposals
  /** The returned program's choice. */
  readonly bestChoice: Choice
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

const optimizer = "Mipro"

const DemoSetCandidate = Schema.Struct({
  demos: Schemas.DemoSet,
  /** How many of each path's demos were bootstrapped (they come first). */
  bootstrapped: Schema.Record({ key: Schema.String, value: Schema.Number })
})

const State = Schema.Struct({
  demoSets: Schema.Array(DemoSetCandidate),
  demoSetsDone: Schema.Boolean,
  dataSummary: Schema.NullOr(Schema.String),
  programDescription: Schema.NullOr(Schema.String),
  moduleDescriptions: Schema.NullOr(Schema.Record({ key: Schema.String, value: Schema.String })),
  groundingDone: Schema.Boolean,
  instructions: Schema.Record({ key: Schema.String, value: Schema.Array(Schema.String) }),
  /** Proposals made so far, per path. */
  proposed: Schema.Record({ key: Schema.String, value: Schema.Number }),
  proposals: Schema.Struct({
    requested: Schema.Number,
    accepted: Schema.Number,
    unreadable: Schema.Number,
    failed: Schema.Number,
    duplicates: Schema.Number,
    groundingSkipped: Schema.Number
  }),
  baseline: Schema.NullOr(Schema.Number),
  observations: Schema.Array(Schema.Struct({ choice: Schema.Array(Schema.Number), score: Schema.Number })),
  minibatchScores: Schema.Record({ key: Schema.String, value: Schema.Array(Schema.Number) }),
  fullScores: Schema.Record({ key: Schema.String, value: Schema.Number }),
  trialsDone: Schema.Number,
  best: Schema.Struct({ choice: Schema.Array(Schema.Number), score: Schema.Number }),
  trials: Schema.Array(Schemas.Trial),
  metricCalls: Schema.Number,
  stoppedEarly: Schema.NullOr(Schema.String)
})
type State = typeof State.Type

const resolveSizes = (
  options: {
    readonly auto?: "light" | "medium" | "heavy" | undefined
    readonly numCandidates?: number | undefined
    readonly numTrials?: number | undefined
    readonly numInstructions?: number | undefined
    readonly numDemoSets?: number | undefined
  },
  predictors: number,
  zeroShot: boolean
) => {
  const manual = options.numCandidates !== undefined || options.numTrials !== undefined
  if (options.auto !== undefined && manual) {
    return new InvalidOptions({
      optimizer,
      reason: `auto = "${options.auto}" sets numCandidates and numTrials itself; give either auto or both of them`
    })
  }
  if (manual && (options.numCandidates === undefined || options.numTrials === undefined)) {
    return new InvalidOptions({ optimizer, reason: "numCandidates and numTrials go together (or use auto)" })
  }
  const auto = manual ? undefined : options.auto ?? "light"
  const n = auto === undefined ? Math.max(1, options.numCandidates!) : presets[auto].candidates
  // MIPROv2: with demos to search, half the candidates are instructions.
  const numInstructions = Math.max(1, options.numInstructions ?? (auto !== undefined && !zeroShot ? Math.floor(n / 2) : n))
  const numDemoSets = Math.max(1, options.numDemoSets ?? n)
  // MIPROv2's trials: max(2 · variables · log2(n), 1.5 · n), variables = predictors × (1 or 2).
  const variables = predictors * (zeroShot ? 1 : 2)
  const numTrials = auto === undefined
    ? Math.max(1, options.numTrials!)
    : Math.floor(Math.max(2 * variables * Math.log2(Math.max(2, n)), 1.5 * n))
  return { auto, numInstructions, numDemoSets, numTrials, maxValset: auto === undefined ? undefined : presets[auto].maxValset }
}

const planText = (plan: Plan): string =>
  [
    `Mipro${plan.auto === undefined ? "" : ` (auto: ${plan.auto})`}: ${plan.trainSize} train / ${plan.valSize} validation examples, ${plan.predictors} predictor(s)`,
    `  candidates: ${plan.numInstructions} instructions and ${plan.numDemoSets} demo sets per predictor; ${plan.numTrials} trials${
      plan.minibatch ? ` on minibatches of ${plan.minibatchSize} with ${plan.fullEvals} full evaluations` : " on the whole validation set"
    }`,
    `  estimate: ${plan.proposerCalls} proposer calls, up to ${plan.bootstrapRuns} bootstrap runs, ${plan.evaluationRuns} evaluation runs`,
    `  ≈ ${plan.estimatedLmCalls} LM calls at one call per predictor per run (a multi-step module makes more; bootstrapping usually stops sooner)`
  ].join("\n")

const choiceKey = (choice: ReadonlyArray<number>) => choice.join(",")

/**
 * Runs MIPROv2. Returns the best program found and a report.
 *
 * @example
 * ```ts
 * import { Predict, Signature } from "@effect-dspy/core"
 * import { Example, Metric, Mipro } from "@effect-dspy/optimize"
 * const qa = Predict.make(Signature.fromString("question -> answer"))
 * const trainset = [
 *   Example.make({ question: "2+2?" }, { answer: "4" }),
 *   Example.make({ question: "3+3?" }, { answer: "6" })
 * ]
 * const search = Mipro.compile(qa, trainset, { metric: Metric.exactMatch("answer"), auto: "light", seed: 1 })
 * ```
 *
 * @since 0.1.0
 */
export const compile = <I, O, E, R, ME = never, MR = never, TR = never, PE = never, PR = never>(
  student: Module.Module<I, O, E, R>,
  trainset: ReadonlyArray<Example<NoInfer<I>, NoInfer<O>>>,
  options: Options<NoInfer<I>, NoInfer<O>, ME, MR, TR, PE, PR>
): Effect.Effect<
  Result<I, O, E, R>,
  InvalidOptions | TooManyErrors | CheckpointError | CheckpointMismatch | PE,
  R | MR | TR | PR | LanguageModel.LanguageModel
> =>
  Effect.gen(function*() {
    const seed = options.seed ?? 9
    const maxBootstrapped = options.maxBootstrappedDemos ?? 4
    const maxLabeled = options.maxLabeledDemos ?? 4
    const zeroShot = maxBootstrapped === 0 && maxLabeled === 0
    const concurrency = Math.max(1, options.concurrency ?? 8)
    const maxErrors = options.maxErrors ?? 10
    const predictors = student.predictors
    if (predictors.length === 0) {
      return yield* new InvalidOptions({ optimizer, reason: "the program has no predictors to optimize" })
    }
    const sizes = resolveSizes(options, predictors.length, zeroShot)
    if (sizes instanceof InvalidOptions) return yield* sizes
    const split = trainAndValidation(optimizer, trainset, options.valset, seed)
    if (split instanceof InvalidOptions) return yield* split
    const train = split.train
    const val = sizes.maxValset !== undefined && split.val.length > sizes.maxValset
      ? rngFor(seed, "valset").sample(split.val, sizes.maxValset)
      : split.val
    const minibatchSize = Math.max(1, options.minibatchSize ?? 35)
    const minibatch = options.minibatch ?? val.length > minibatchSize
    if (minibatch && minibatchSize > val.length) {
      return yield* new InvalidOptions({
        optimizer,
        reason: `minibatchSize (${minibatchSize}) exceeds the validation set (${val.length} examples)`
      })
    }
    const fullEvalSteps = Math.max(1, options.minibatchFullEvalSteps ?? 5)
    const { numDemoSets, numInstructions, numTrials } = sizes
    const startupTrials = options.tpeStartupTrials ?? Math.min(10, Math.max(2, Math.ceil(numTrials / 4)))
    const viewBatch = Math.max(1, options.viewDataBatchSize ?? 10)
    const dataAware = options.dataAwareProposer ?? true
    const programAware = options.programAwareProposer ?? true
    const fewshotAware = options.fewshotAwareProposer ?? true
    const tipAware = options.tipAwareProposer ?? true

    // Demo-set candidates: the program's own, labelled only, bootstrapped in train order, then
    // bootstrapped from shuffled train sets with random sizes.
    const demoSetKinds: ReadonlyArray<"own" | "labeled" | "ordered" | "shuffled"> = [
      "own" as const,
      ...(maxLabeled > 0 && !zeroShot ? ["labeled" as const] : []),
      "ordered" as const,
      ...Array.from({ length: numDemoSets }, () => "shuffled" as const)
    ].slice(0, numDemoSets)

    // The plan, logged before the first LM call.
    const fullEvals = minibatch ? Math.floor(numTrials / fullEvalSteps) + (numTrials % fullEvalSteps === 0 ? 0 : 1) : 0
    const summaryCalls = dataAware ? Math.min(Math.ceil(train.length / viewBatch), 10) + 1 : 0
    const proposerCalls = summaryCalls + (programAware ? 1 + predictors.length : 0) + (numInstructions - 1) * predictors.length
    // Zero-shot runs still bootstrap 3 demos per set to show the proposer.
    const bootstrapSize = zeroShot ? 3 : maxBootstrapped
    const bootstrapRuns = bootstrapSize === 0
      ? 0
      : demoSetKinds.filter((k) => k === "ordered" || k === "shuffled").length * train.length
    const evaluationRuns = val.length + (minibatch ? numTrials * minibatchSize + fullEvals * val.length : numTrials * val.length)
    const plan: Plan = {
      auto: sizes.auto,
      trainSize: train.length,
      valSize: val.length,
      predictors: predictors.length,
      numInstructions,
      numDemoSets,
      numTrials,
      minibatch,
      minibatchSize,
      fullEvals,
      proposerCalls,
      bootstrapRuns,
      evaluationRuns,
      estimatedLmCalls: proposerCalls + (bootstrapRuns + evaluationRuns) * predictors.length
    }
    yield* Effect.logInfo(planText(plan))
    yield* EventBus.publish({ type: "optimization.mipro.plan", optimizer, data: { ...plan } })

    const store = checkpointer(
      options.checkpoint,
      optimizer,
      fingerprint({
        seed,
        plan,
        maxBootstrapped,
        maxLabeled,
        threshold: options.metricThreshold ?? 1,
        fullEvalSteps,
        startupTrials,
        proposer: [dataAware, programAware, fewshotAware, tipAware, viewBatch, options.initTemperature ?? 1],
        train: train.map(fieldsOf),
        val: val.map(fieldsOf),
        student: describeState(student),
        teacher: options.teacher === undefined ? null : describeState(options.teacher)
      }),
      State
    )
    const resumed = yield* store.resume
    let state: State = Option.match(resumed, {
      onSome: (r) => r.state,
      onNone: (): State => ({
        demoSets: [],
        demoSetsDone: false,
        dataSummary: null,
        programDescription: null,
        moduleDescriptions: null,
        groundingDone: false,
        instructions: Object.fromEntries(predictors.map((p) => [p.path, [p.state.instructions]])),
        proposed: Object.fromEntries(predictors.map((p) => [p.path, 0])),
        proposals: { requested: 0, accepted: 0, unreadable: 0, failed: 0, duplicates: 0, groundingSkipped: 0 },
        baseline: null,
        observations: [],
        minibatchScores: {},
        fullScores: {},
        trialsDone: 0,
        best: { choice: [], score: Number.NEGATIVE_INFINITY },
        trials: [],
        metricCalls: 0,
        stoppedEarly: null
      })
    })
    const promptContext = options.promptModel === undefined
      ? undefined
      : yield* Layer.build(options.promptModel)
    // Proposer calls run on the prompt model when one is given.
    const onPromptModel = <A, E2, R2>(effect: Effect.Effect<A, E2, R2>) =>
      promptContext === undefined ? effect : Effect.provide(effect, promptContext)

    const result = yield* metered(Option.match(resumed, { onNone: () => Usage.empty, onSome: (r) => r.usage }), (meter) =>
      Effect.gen(function*() {
        const save = (next: State) =>
          Effect.zipRight(Effect.sync(() => {
            state = next
          }), store.save(next, meter.usage()))
        const bootstrapOptions = {
          metric: options.metric,
          metricThreshold: options.metricThreshold,
          teacher: options.teacher,
          maxLabeledDemos: zeroShot ? 0 : maxLabeled,
          concurrency,
          maxErrors
        }
        const demosOf = (program: Module.Module<I, O, E, R>) =>
          Object.fromEntries(program.predictors.map((p) => [p.path, p.state.demos]))

        // 1. Demo-set candidates. Zero-shot runs still bootstrap (3 demos) to show the
        // proposer, but do not search demos.
        while (!state.demoSetsDone) {
          const j = state.demoSets.length
          if (j >= numDemoSets) {
            yield* save({ ...state, demoSetsDone: true })
            break
          }
          let candidate: typeof DemoSetCandidate.Type
          let bootstrapCalls = 0
          const kind = demoSetKinds[j]!
          if (kind === "own") {
            candidate = { demos: demosOf(student), bootstrapped: {} }
          } else if (kind === "labeled") {
            const labeled = yield* LabeledFewShot.compile(student, train, { k: maxLabeled, seed: derive(seed, "labeled") })
            candidate = { demos: demosOf(labeled), bootstrapped: {} }
          } else {
            const rng = rngFor(seed, "demo-set", j)
            const { program, report } = yield* BootstrapFewShot.compile(student, train, {
              ...bootstrapOptions,
              // A random size from 1 up; none when none are asked for (then the sets differ in
              // their labelled demos, sampled with the seed).
              maxBootstrappedDemos: kind === "shuffled" && bootstrapSize > 0 ? 1 + rng.int(bootstrapSize) : bootstrapSize,
              seed: kind === "shuffled" ? rng.int(2 ** 31) : undefined
            })
            candidate = { demos: demosOf(program), bootstrapped: report.demos }
            bootstrapCalls = report.metricCalls
          }
          yield* save({ ...state, demoSets: [...state.demoSets, candidate], metricCalls: state.metricCalls + bootstrapCalls })
          yield* EventBus.publish({
            type: "optimization.mipro.demos",
            optimizer,
            data: { set: j, demos: Object.fromEntries(Object.entries(candidate.demos).map(([k, v]) => [k, v.length])) }
          })
        }
        const demoSets = state.demoSets

        // 2. Grounding: data summary, program and step descriptions. A step that fails is
        // left out (and counted); proposals go on without it.
        const demosForPrompt = (path: string, from: number, max: number): string => {
          const predictor = predictors.find((p) => p.path === path)!
          const texts: Array<string> = []
          for (let k = 0; k < demoSets.length && texts.length < max; k++) {
            const set = demoSets[(from + k) % demoSets.length]!
            const n = set.bootstrapped[path] ?? 0
            for (const demo of (set.demos[path] ?? []).slice(0, n)) {
              if (texts.length >= max) break
              texts.push(Proposer.demoText(predictor, demo))
            }
          }
          return texts.join("\n\n")
        }
        if (!state.groundingDone) {
          let skipped = 0
          let dataSummary: string | null = null
          if (dataAware) {
            const first = yield* onPromptModel(Proposer.attempt(
              Proposer.predictors.describeDataset({ examples: Proposer.examplesText(train.slice(0, viewBatch)) }),
              { temperature: 1, rolloutId: derive(seed, "summary", 0) }
            ))
            if (Either.isRight(first)) {
              let observations = first.right.output.observations
              let complete = 0
              for (let b = viewBatch, call = 1; b < train.length && call < 10 && complete < 5; b += viewBatch, call++) {
                const more = yield* onPromptModel(Proposer.attempt(
                  Proposer.predictors.describeDatasetFurther({
                    examples: Proposer.examplesText(train.slice(b, b + viewBatch)),
                    prior_observations: observations
                  }),
                  { temperature: 1, rolloutId: derive(seed, "summary", call) }
                ))
                if (Either.isLeft(more)) break
                const text = more.right.output.observations.trim()
                if (text.toUpperCase().startsWith("COMPLETE")) complete++
                else observations = `${observations}\n${text}`
              }
              const summary = yield* onPromptModel(Proposer.attempt(
                Proposer.predictors.summarize({ observations }),
                { temperature: 1, rolloutId: derive(seed, "summary", "final") }
              ))
              dataSummary = Either.isRight(summary) ? summary.right.output.summary : observations
            } else skipped++
          }
          let programDescription: string | null = null
          let moduleDescriptions: Record<string, string> | null = null
          if (programAware) {
            const outline = Proposer.programOutline(student)
            const example = predictors.map((p) => demosForPrompt(p.path, 1, 1)).filter((t) => t !== "").join("\n\n") ||
              "No example available."
            const described = yield* onPromptModel(Proposer.attempt(
              Proposer.predictors.describeProgram({ program_outline: outline, program_example: example }),
              { temperature: 1, rolloutId: derive(seed, "program") }
            ))
            if (Either.isRight(described)) {
              programDescription = described.right.output.program_description
              moduleDescriptions = {}
              for (const p of predictors) {
                const module = yield* onPromptModel(Proposer.attempt(
                  Proposer.predictors.describeModule({
                    program_outline: outline,
                    program_description: programDescription,
                    program_example: example,
                    module: Proposer.moduleLine(p)
                  }),
                  { temperature: 1, rolloutId: derive(seed, "module", p.path) }
                ))
                if (Either.isRight(module)) moduleDescriptions[p.path] = module.right.output.module_description
                else skipped++
              }
            } else skipped++
          }
          yield* save({
            ...state,
            dataSummary,
            programDescription,
            moduleDescriptions,
            groundingDone: true,
            proposals: { ...state.proposals, groundingSkipped: state.proposals.groundingSkipped + skipped }
          })
        }

        // 3. Proposals: numInstructions - 1 per predictor, each with a tip and the demos of one
        // demo set; duplicates dropped, unreadable replies skipped and counted.
        for (const p of predictors) {
          while ((state.proposed[p.path] ?? 0) < numInstructions - 1) {
            const i = (state.proposed[p.path] ?? 0) + 1
            const rng = rngFor(seed, "proposal", p.path, i)
            const tip = tipAware ? rng.pick(Proposer.tips) : ""
            const setIndex = i % Math.max(1, demoSets.length)
            const demos = fewshotAware && setIndex !== 0 ? demosForPrompt(p.path, setIndex, 3) : ""
            const reply = yield* onPromptModel(Proposer.attempt(
              Proposer.predictors.propose({
                dataset_description: state.dataSummary ?? "Not available.",
                program_outline: programAware ? Proposer.programOutline(student) : "Not available.",
                program_description: state.programDescription ?? "Not available.",
                module: Proposer.moduleLine(p),
                module_description: state.moduleDescriptions?.[p.path] ?? "Not available.",
                task_demos: demos === "" ? "No task demos provided." : demos,
                basic_instruction: p.state.instructions,
                tip: tip === "" ? "None." : tip
              }),
              { temperature: options.initTemperature ?? 1, rolloutId: derive(seed, "proposal", p.path, i) }
            ))
            const list = [...(state.instructions[p.path] ?? [])]
            const counts = { ...state.proposals, requested: state.proposals.requested + 1 }
            if (Either.isLeft(reply)) {
              if (reply.left.unreadable) counts.unreadable++
              else counts.failed++
              yield* Effect.logWarning(`Mipro: proposal ${i} for ${p.path} skipped: ${reply.left.description}`)
            } else {
              const text = Proposer.stripProposal(reply.right.output.proposed_instruction)
              if (text === "") counts.unreadable++
              else if (list.some((existing) => Proposer.instructionKey(existing) === Proposer.instructionKey(text))) {
                counts.duplicates++
              } else {
                list.push(text)
                counts.accepted++
              }
            }
            yield* save({
              ...state,
              instructions: { ...state.instructions, [p.path]: list },
              proposed: { ...state.proposed, [p.path]: i },
              proposals: counts
            })
          }
        }
        if (state.proposals.requested > 0 && state.proposals.accepted === 0) {
          yield* Effect.logWarning(
            `Mipro: none of the ${state.proposals.requested} proposals could be used; searching demos with the current instructions`
          )
        }
        yield* EventBus.publish({
          type: "optimization.mipro.instructions",
          optimizer,
          data: { ...state.proposals, counts: Object.fromEntries(Object.entries(state.instructions).map(([k, v]) => [k, v.length])) }
        })

        // 4. The search.
        const searchDemos = !zeroShot && demoSets.length > 1
        const space: Tpe.Space = predictors.flatMap((p) => [
          { name: `${p.path}:instruction`, size: state.instructions[p.path]!.length },
          ...(searchDemos ? [{ name: `${p.path}:demos`, size: demoSets.length }] : [])
        ])
        const toChoice = (vector: ReadonlyArray<number>): Choice => {
          const out: Record<string, { readonly instruction: number; readonly demoSet: number }> = {}
          let k = 0
          for (const p of predictors) {
            const instruction = vector[k++] ?? 0
            const demoSet = searchDemos ? vector[k++] ?? 0 : 0
            out[p.path] = { instruction, demoSet }
          }
          return out
        }
        const build = (vector: ReadonlyArray<number>) => {
          const choice = toChoice(vector)
          return student.withState({
            predictors: Object.fromEntries(predictors.map((p) => {
              const c = choice[p.path]!
              return [p.path, { instructions: state.instructions[p.path]![c.instruction]!, demos: demoSets[c.demoSet]!.demos[p.path] ?? [] }]
            }))
          })
        }
        const label = (vector: ReadonlyArray<number>) =>
          Object.entries(toChoice(vector)).map(([path, c]) => `${path}: instruction ${c.instruction}, demos ${c.demoSet}`).join("; ")
        const evaluate = (
          vector: ReadonlyArray<number>,
          examples: ReadonlyArray<Example<I, O>>,
          name: string,
          maxFailuresBeforeSuccess?: number
        ) =>
          Evaluate.run(build(vector), examples, options.metric, {
            name: `${student.name} ${name}`,
            concurrency,
            progress: false,
            maxFailuresBeforeSuccess
          })
        const overBudget = () => options.maxLmCalls !== undefined && meter.usage().lmCalls >= options.maxLmCalls

        if (state.baseline === null) {
          const baseline = space.map(() => 0)
          const evaluation = yield* evaluate(baseline, val, "baseline", maxErrors)
          const hopeless = cannotSucceed(optimizer, evaluation, maxErrors)
          if (hopeless !== undefined) return yield* hopeless
          yield* save({
            ...state,
            baseline: evaluation.mean,
            observations: [{ choice: baseline, score: evaluation.mean }],
            fullScores: { [choiceKey(baseline)]: evaluation.mean },
            best: { choice: baseline, score: evaluation.mean },
            trials: [{ index: 0, kind: "baseline", label: label(baseline), score: evaluation.mean, examples: val.length }],
            metricCalls: state.metricCalls + evaluation.rows.length
          })
          yield* EventBus.publish({ type: "optimization.mipro.trial", optimizer, data: { trial: 0, kind: "baseline", score: evaluation.mean } })
        }

        // The best-averaging minibatch choice not yet evaluated in full, evaluated in full.
        const fullEvaluation = Effect.gen(function*() {
          let pick: { readonly key: string; readonly mean: number } | undefined
          for (const [key, scores] of Object.entries(state.minibatchScores)) {
            if (key in state.fullScores) continue
            const mean = scores.reduce((a, b) => a + b, 0) / scores.length
            if (pick === undefined || mean > pick.mean) pick = { key, mean }
          }
          if (pick === undefined) return
          const vector = pick.key.split(",").map(Number)
          const evaluation = yield* evaluate(vector, val, `full ${state.trials.length}`)
          const better = evaluation.mean > state.best.score
          yield* save({
            ...state,
            observations: [...state.observations, { choice: vector, score: evaluation.mean }],
            fullScores: { ...state.fullScores, [pick.key]: evaluation.mean },
            best: better ? { choice: vector, score: evaluation.mean } : state.best,
            trials: [...state.trials, {
              index: state.trials.length,
              kind: "full",
              label: label(vector),
              score: evaluation.mean,
              examples: val.length
            }],
            metricCalls: state.metricCalls + evaluation.rows.length
          })
          yield* EventBus.publish({
            type: "optimization.mipro.full",
            optimizer,
            data: { choice: toChoice(vector), score: evaluation.mean, best: state.best.score }
          })
        })

        while (state.trialsDone < numTrials && state.stoppedEarly === null) {
          if (overBudget()) {
            yield* save({ ...state, stoppedEarly: "lmCallBudget" })
            break
          }
          const t = state.trialsDone + 1
          const rng = rngFor(seed, "trial", t)
          const vector = Tpe.suggest(space, state.observations, rng, { startupTrials })
          const key = choiceKey(vector)
          const examples = minibatch ? rng.sample(val, minibatchSize) : val
          const evaluation = yield* evaluate(vector, examples, `trial ${t}`)
          const full = !minibatch
          const better = full && evaluation.mean > state.best.score
          yield* save({
            ...state,
            trialsDone: t,
            observations: [...state.observations, { choice: vector, score: evaluation.mean }],
            minibatchScores: full ? state.minibatchScores : {
              ...state.minibatchScores,
              [key]: [...(state.minibatchScores[key] ?? []), evaluation.mean]
            },
            fullScores: full ? { ...state.fullScores, [key]: evaluation.mean } : state.fullScores,
            best: better ? { choice: vector, score: evaluation.mean } : state.best,
            trials: [...state.trials, {
              index: state.trials.length,
              kind: full ? "full" : "minibatch",
              label: label(vector),
              score: evaluation.mean,
              examples: examples.length
            }],
            metricCalls: state.metricCalls + evaluation.rows.length
          })
          yield* EventBus.publish({
            type: "optimization.mipro.trial",
            optimizer,
            data: { trial: t, kind: full ? "full" : "minibatch", choice: toChoice(vector), score: evaluation.mean }
          })
          if (minibatch && (t % fullEvalSteps === 0 || t === numTrials)) {
            if (overBudget()) {
              yield* save({ ...state, stoppedEarly: "lmCallBudget" })
              break
            }
            yield* fullEvaluation
          }
        }
        return { usage: meter.usage(), build, toChoice }
      }))

    const program = result.build(state.best.choice)
    const report: Report = {
      optimizer,
      trials: state.trials,
      baselineScore: state.baseline ?? undefined,
      bestScore: state.best.score,
      usage: result.usage,
      metricCalls: state.metricCalls,
      resumed: Option.isSome(resumed),
      stoppedEarly: state.stoppedEarly ?? undefined,
      plan,
      instructions: state.instructions,
      demoSets: state.demoSets.map((s) => s.demos),
      proposals: state.proposals,
      bestChoice: result.toChoice(state.best.choice)
    }
    yield* EventBus.publish({
      type: "optimization.mipro.end",
      optimizer,
      data: { baseline: report.baselineScore, best: report.bestScore, bestChoice: report.bestChoice, lmCalls: report.usage.lmCalls }
    })
    return { program, report }
  }).pipe(Effect.scoped, Effect.withSpan(optimizer, { captureStackTrace: false }), withRunCache(options.cache))
