/**
 * The code blocks of packages/optimize/README.md, type-checked by `pnpm typecheck`. Each is an
 * Effect that needs a `LanguageModel` (e.g. `Lm.layerFromEnv()`).
 */
import { NodeFileSystem } from "@effect/platform-node"
import { ChainOfThought, ProgramState, Signature } from "@effect-dspy/core"
import {
  BootstrapFewShot,
  Checkpoint,
  Evaluate,
  Example,
  Gepa,
  LabeledFewShot,
  Metric,
  Mipro,
  RandomSearch
} from "@effect-dspy/optimize"
import { Effect } from "effect"

// --- examples and metrics
const QA = Signature.fromString("question -> answer")
const qa = ChainOfThought.make(QA)
const trainset = [
  Example.withInputs({ question: "Capital of France?", answer: "Paris" }, "question"),
  Example.withInputs({ question: "Largest planet?", answer: "Jupiter" }, "question"),
  Example.withInputs({ question: "Author of Hamlet?", answer: "Shakespeare" }, "question")
]
const exact = Metric.exactMatch<{ readonly answer: string }>("answer") // DSPy's normalization
const f1 = Metric.f1<{ readonly answer: string }>("answer") // token F1, best over golds
const withFeedback: Metric.Metric<{ readonly question: string }, { readonly answer: string }> = (example, prediction) =>
  exact(example, prediction)
    ? Metric.withFeedback(1, "Correct.")
    : Metric.withFeedback(0, `Expected "${example.expected.answer}"; the answer should be a proper name only.`)

export const evaluate = Evaluate.run(qa, trainset, f1, { concurrency: 8 })

// --- BootstrapFewShot
export const bootstrap = Effect.gen(function*() {
  const { program, report } = yield* BootstrapFewShot.compile(qa, trainset, {
    metric: exact,
    maxBootstrappedDemos: 4,
    maxLabeledDemos: 8,
    seed: 1
  })
  yield* Effect.log(`${report.passed} of ${report.attempted} runs passed; ${report.usage.lmCalls} LM calls`)
  return ProgramState.toJson(program)
})

// --- RandomSearch
export const randomSearch = Effect.map(
  RandomSearch.compile(qa, trainset, { metric: exact, numCandidates: 6, seed: 1 }),
  ({ program, report }) => ({ program, best: report.best, score: report.bestScore })
)

// --- Mipro
export const mipro = Effect.gen(function*() {
  const checkpoint = yield* Checkpoint.file("mipro-run.json")
  const { program, report } = yield* Mipro.compile(qa, trainset, { metric: exact, auto: "light", seed: 9, checkpoint })
  yield* Effect.log(`baseline ${report.baselineScore}, best ${report.bestScore}, ${report.usage.lmCalls} LM calls`)
  return program
}).pipe(Effect.provide(NodeFileSystem.layer))

// --- Gepa
export const gepa = Effect.gen(function*() {
  const seeded = yield* LabeledFewShot.compile(qa, trainset, { k: 2 })
  const { program, report } = yield* Gepa.compile(seeded, trainset, {
    metric: withFeedback,
    maxMetricCalls: 300,
    seed: 0
  })
  yield* Effect.log(`${report.candidates.length} candidates, Pareto front ${report.paretoFront.join(", ")}`)
  return program
})
