/**
 * `Mipro`: an instruction optimizer in the spirit of DSPy's MIPROv2. It proposes candidate
 * instructions for each predictor with an LM (grounded in the task, a sample of the data and a
 * prompting tip), bootstraps candidate demo sets, then searches combinations of instruction
 * and demo set per predictor over a budget of trials, scoring each on the validation set, and
 * keeps the best.
 *
 * Search: the first trials are random; later ones are greedy with exploration (each choice's
 * mean score so far, with probability `explore` of a random pick), a simple stand-in for
 * MIPRO's Bayesian (TPE) search. Everything is seeded.
 *
 * @since 0.1.0
 */
import { type Demo, EventBus, type Module, Predict, Signature } from "@effect-dspy/core"
import type * as LanguageModel from "@effect/ai/LanguageModel"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as BootstrapFewShot from "./BootstrapFewShot.js"
import * as Evaluate from "./Evaluate.js"
import type { Example } from "./Example.js"
import { makeRng } from "./internal/random.js"

/**
 * The signature the proposer answers.
 *
 * @since 0.1.0
 */
export const ProposeInstruction = Signature.make("ProposeInstruction", {
  instructions:
    "You write the instructions of one step of a language-model program. Given the step's signature, a sample of the data and a tip, write new instructions that would make the step more accurate.",
  input: {
    signature: Schema.String.annotations({ description: "The step's fields and current instructions" }),
    data_sample: Schema.String.annotations({ description: "A few examples of the task's data (JSON lines)" }),
    tip: Schema.String.annotations({ description: "A prompting tip to follow" })
  },
  output: {
    proposed_instruction: Schema.String.annotations({ description: "The new instructions" })
  }
})

const tips = [
  "Be concise and precise.",
  "Explain the task step by step before stating what to produce.",
  "Name the edge cases the data shows and how to handle them.",
  "Describe the expected output format exactly.",
  "Use the vocabulary of the domain the data comes from.",
  "Set a persona of an expert in this task."
]

/**
 * One trial of the search.
 *
 * @since 0.1.0
 */
export interface Trial {
  readonly index: number
  /** Per predictor path: the chosen instruction and demo-set indexes. */
  readonly choice: Readonly<Record<string, { readonly instruction: number; readonly demoSet: number }>>
  readonly score: number
}

/**
 * Options of `compile`.
 *
 * @since 0.1.0
 */
export interface Options<I, O, ME, MR> extends BootstrapFewShot.Options<I, O, ME, MR> {
  readonly valset?: ReadonlyArray<Example<I, O>> | undefined
  /** Proposed instructions per predictor, besides the current one (default 4). */
  readonly numInstructions?: number | undefined
  /** Bootstrapped demo sets, besides the empty one (default 4). */
  readonly numDemoSets?: number | undefined
  /** Trials (default 12). */
  readonly numTrials?: number | undefined
  /** Trials that pick at random before the greedy phase (default: a third of the trials). */
  readonly randomTrials?: number | undefined
  /** Probability of a random pick in the greedy phase (default 0.2). */
  readonly explore?: number | undefined
  readonly seed?: number | undefined
}

const describeSignature = (predictor: Module.PredictorInfo): string =>
  [
    `inputs: ${predictor.signature.inputFields.map((f) => f.name).join(", ")}`,
    `outputs: ${predictor.signature.outputFields.map((f) => f.name).join(", ")}`,
    `current instructions: ${predictor.state.instructions}`
  ].join("\n")

/**
 * Runs the instruction and demo search.
 *
 * @example
 * ```ts
 * import { Predict, Signature } from "@effect-dspy/core"
 * import { Example, Metric, Mipro } from "@effect-dspy/optimize"
 * const qa = Predict.make(Signature.fromString("question -> answer"))
 * const trainset = [Example.make({ question: "2+2?" }, { answer: "4" })]
 * const search = Mipro.compile(qa, trainset, { metric: Metric.exactMatch("answer"), numTrials: 6 })
 * ```
 *
 * @since 0.1.0
 */
export const compile = <I, O, E, R, ME = never, MR = never>(
  student: Module.Module<I, O, E, R>,
  trainset: ReadonlyArray<Example<NoInfer<I>, NoInfer<O>>>,
  options: Options<NoInfer<I>, NoInfer<O>, ME, MR>
): Effect.Effect<
  { readonly program: Module.Module<I, O, E, R>; readonly trials: ReadonlyArray<Trial>; readonly instructions: Readonly<Record<string, ReadonlyArray<string>>> },
  Predict.PredictError,
  R | MR | LanguageModel.LanguageModel
> =>
  Effect.gen(function*() {
    const rng = makeRng(options.seed ?? 0)
    const valset = options.valset ?? trainset
    const numTrials = Math.max(1, options.numTrials ?? 12)
    const randomTrials = options.randomTrials ?? Math.ceil(numTrials / 3)
    const explore = options.explore ?? 0.2
    const proposer = Predict.make(ProposeInstruction)
    const dataSample = rng.sample(trainset, 5).map((e) => JSON.stringify({ ...e.input, ...e.expected })).join("\n")

    // 1. Candidate instructions per predictor: the current one first.
    const instructions: Record<string, Array<string>> = {}
    for (const predictor of student.predictors) {
      const list = [predictor.state.instructions]
      for (let i = 0; i < (options.numInstructions ?? 4); i++) {
        const proposal = yield* proposer({
          signature: describeSignature(predictor),
          data_sample: dataSample,
          tip: tips[rng.int(tips.length)]!
        })
        list.push(proposal.output.proposed_instruction)
      }
      instructions[predictor.path] = list
    }
    yield* EventBus.publish({
      type: "optimization.mipro.instructions",
      optimizer: "Mipro",
      data: { counts: Object.fromEntries(Object.entries(instructions).map(([k, v]) => [k, v.length])) }
    })

    // 2. Candidate demo sets: none, then bootstrapped from shuffled train sets.
    const demoSets: Array<Readonly<Record<string, ReadonlyArray<Demo.Encoded>>>> = [{}]
    for (let i = 0; i < (options.numDemoSets ?? 4); i++) {
      const { program } = yield* BootstrapFewShot.compile(student, trainset, { ...options, seed: rng.int(2 ** 31) })
      demoSets.push(Object.fromEntries(program.predictors.map((p) => [p.path, p.state.demos])))
    }

    // 3. Search.
    const stats = new Map<string, { sum: number; count: number }>()
    const key = (path: string, kind: string, index: number) => `${path}/${kind}/${index}`
    const pick = (path: string, kind: string, size: number, trial: number): number => {
      if (trial < randomTrials || rng.next() < explore) return rng.int(size)
      let best = 0
      let bestMean = Number.NEGATIVE_INFINITY
      for (let i = 0; i < size; i++) {
        const s = stats.get(key(path, kind, i))
        // Unseen choices are tried before known ones.
        const mean = s === undefined ? Number.POSITIVE_INFINITY : s.sum / s.count
        if (mean > bestMean) {
          bestMean = mean
          best = i
        }
      }
      return best
    }
    const trials: Array<Trial> = []
    let best: { readonly program: Module.Module<I, O, E, R>; readonly score: number } | undefined
    for (let t = 0; t < numTrials; t++) {
      const choice: Record<string, { readonly instruction: number; readonly demoSet: number }> = {}
      for (const predictor of student.predictors) {
        choice[predictor.path] = {
          instruction: pick(predictor.path, "instruction", instructions[predictor.path]!.length, t),
          demoSet: pick(predictor.path, "demos", demoSets.length, t)
        }
      }
      const program = student.withState({
        predictors: Object.fromEntries(student.predictors.map((p) => {
          const c = choice[p.path]!
          return [p.path, { instructions: instructions[p.path]![c.instruction]!, demos: demoSets[c.demoSet]![p.path] ?? [] }]
        }))
      })
      const evaluation = yield* Evaluate.run(program, valset, options.metric, {
        name: `${student.name} trial ${t}`,
        concurrency: options.concurrency,
        progress: false
      })
      for (const [path, c] of Object.entries(choice)) {
        for (const [kind, index] of [["instruction", c.instruction], ["demos", c.demoSet]] as const) {
          const s = stats.get(key(path, kind, index)) ?? { sum: 0, count: 0 }
          stats.set(key(path, kind, index), { sum: s.sum + evaluation.mean, count: s.count + 1 })
        }
      }
      trials.push({ index: t, choice, score: evaluation.mean })
      if (best === undefined || evaluation.mean > best.score) best = { program, score: evaluation.mean }
      yield* EventBus.publish({ type: "optimization.mipro.trial", optimizer: "Mipro", data: { trial: t, score: evaluation.mean, choice } })
    }
    yield* EventBus.publish({ type: "optimization.mipro.end", optimizer: "Mipro", data: { best: best?.score ?? 0 } })
    return { program: best?.program ?? student, trials, instructions }
  }).pipe(Effect.withSpan("Mipro", { captureStackTrace: false }))
