/**
 * Evaluate a word-problem solver, optimize it, and evaluate again.
 *
 *   pnpm exec tsx examples/optimize/main.ts [bootstrap|random-search|mipro] [--save state.json]
 *
 * Offline (no API key) the model is the simulator with the scripted "tutor" of
 * WordProblems.ts: it is right only when the prompt holds a demo of the same kind of problem,
 * so the score shows whether the optimizer installed fitting demos. With a key, the same
 * script optimizes against the real model.
 */
import { NodeRuntime } from "@effect/platform-node"
import { ProgramState } from "@effect-dspy/core"
import { BootstrapFewShot, Evaluate, Metric, Mipro, RandomSearch } from "@effect-dspy/optimize"
import { SimulatorProvider } from "@effect-dspy/simulator"
import { Console, Effect } from "effect"
import { writeFileSync } from "node:fs"
import { load, solve, toExample, tutor } from "./WordProblems.js"

const args = process.argv.slice(2)
const optimizer = args.find((a) => !a.startsWith("--")) ?? "bootstrap"
const saveIndex = args.indexOf("--save")
const savePath = saveIndex === -1 ? undefined : args[saveIndex + 1]

const rows = load()
const trainset = rows.slice(0, 60).map(toExample)
const devset = rows.slice(200, 300).map(toExample)
const metric = Metric.numericTolerance<{ readonly answer: number }>("answer", 1e-6)

const program = Effect.gen(function*() {
  const before = yield* Evaluate.run(solve, devset, metric, { name: "before", concurrency: 16 })
  yield* Console.log(`before: ${(before.mean * 100).toFixed(1)}% on ${devset.length} dev problems`)

  const compiled = optimizer === "mipro"
    ? (yield* Mipro.compile(solve, trainset, { metric, valset: trainset.slice(0, 30), numTrials: 8, seed: 1 })).program
    : optimizer === "random-search"
    ? (yield* RandomSearch.compile(solve, trainset, { metric, valset: trainset.slice(0, 30), numCandidates: 4, seed: 1 }))
      .program
    : (yield* BootstrapFewShot.compile(solve, trainset, { metric, maxBootstrappedDemos: 4, maxLabeledDemos: 8 })).program

  const after = yield* Evaluate.run(compiled, devset, metric, { name: "after", concurrency: 16 })
  yield* Console.log(`after ${optimizer}: ${(after.mean * 100).toFixed(1)}% on ${devset.length} dev problems`)
  yield* Console.log(`demos installed: ${compiled.predictors.map((p) => `${p.path}=${p.state.demos.length}`).join(", ")}`)
  if (savePath !== undefined) {
    writeFileSync(savePath, ProgramState.toJson(compiled))
    yield* Console.log(`saved the optimized program's state to ${savePath}`)
  }
})

program.pipe(
  Effect.provide(SimulatorProvider.layerFromEnvOrSimulator({ simulator: { script: [tutor] } })),
  NodeRuntime.runMain
)
