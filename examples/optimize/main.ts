/**
 * Evaluate a word-problem solver, optimize it, and evaluate again.
 *
 *   pnpm exec tsx examples/optimize/main.ts [bootstrap|random-search|mipro|gepa] [--save state.json] [--checkpoint run.json]
 *
 * Offline (EFFECT_DSPY_MODEL unset) the model is the scripted student of ScriptedModel.ts, whose
 * accuracy depends on its prompt through a hidden rule; with EFFECT_DSPY_MODEL and a key set
 * (see the README), the same script optimizes against the real model.
 */
import { NodeFileSystem, NodeRuntime } from "@effect/platform-node"
import { ProgramState } from "@effect-dspy/core"
import { BootstrapFewShot, Checkpoint, Evaluate, Gepa, LabeledFewShot, Mipro, RandomSearch } from "@effect-dspy/optimize"
import { Lm } from "@effect-dspy/providers"
import { Config, Console, Effect, Layer, Option } from "effect"
import { writeFileSync } from "node:fs"
import * as ScriptedModel from "./ScriptedModel.js"
import { load, metric, solve, toExample } from "./WordProblems.js"

const args = process.argv.slice(2)
const optimizer = args.find((a) => !a.startsWith("--") && !args[args.indexOf(a) - 1]?.startsWith("--")) ?? "bootstrap"
const flag = (name: string) => {
  const index = args.indexOf(name)
  return index === -1 ? undefined : args[index + 1]
}
const savePath = flag("--save")
const checkpointPath = flag("--checkpoint")

const rows = load()
const trainset = rows.slice(0, 100).map(toExample)
const devset = rows.slice(200, 300).map(toExample)

const program = Effect.gen(function*() {
  const before = yield* Evaluate.run(solve, devset, metric, { name: "before", concurrency: 16 })
  yield* Console.log(`before: ${(before.mean * 100).toFixed(1)}% on ${devset.length} dev problems`)
  const checkpoint = checkpointPath === undefined ? undefined : yield* Checkpoint.file(checkpointPath)

  const { program: compiled, report } = optimizer === "mipro"
    ? yield* Mipro.compile(solve, trainset, { metric, auto: "medium", seed: 1, checkpoint })
    : optimizer === "random-search"
    ? yield* RandomSearch.compile(solve, trainset, { metric, numCandidates: 4, seed: 1, checkpoint })
    : optimizer === "gepa"
    ? yield* Gepa.compile(
      // GEPA evolves instructions only: start it from a program with a labelled demo of each kind.
      yield* LabeledFewShot.compile(solve, trainset.slice(80), { k: 10 }),
      trainset.slice(0, 40),
      { metric, valset: trainset.slice(40, 80), maxMetricCalls: 600, seed: 1, checkpoint }
    )
    : yield* BootstrapFewShot.compile(solve, trainset, { metric, maxBootstrappedDemos: 5, maxLabeledDemos: 5, checkpoint })

  const after = yield* Evaluate.run(compiled, devset, metric, { name: "after", concurrency: 16 })
  yield* Console.log(`after ${optimizer}: ${(after.mean * 100).toFixed(1)}% on ${devset.length} dev problems`)
  yield* Console.log(
    `the run: ${report.trials.length} trials, ${report.metricCalls} metric calls, ${report.usage.lmCalls} LM calls, ${report.usage.totalTokens} tokens`
  )
  for (const p of compiled.predictors) {
    yield* Console.log(`${p.path}: ${p.state.demos.length} demos; instructions: ${p.state.instructions}`)
  }
  if (savePath !== undefined) {
    writeFileSync(savePath, ProgramState.toJson(compiled))
    yield* Console.log(`saved the optimized program's state to ${savePath}`)
  }
})

// A real model when EFFECT_DSPY_MODEL names one, its calls cached in .cache/lm (a second run of
// the same command costs nothing, as with DSPy's cache), else the scripted student.
const model = Layer.unwrapEffect(
  Effect.map(
    Config.option(Config.string("EFFECT_DSPY_MODEL")),
    (name) => Option.isSome(name) ? Lm.layerFromEnv({ cache: { directory: ".cache/lm" } }) : ScriptedModel.layer
  )
)

program.pipe(
  Effect.provide(Layer.merge(model, NodeFileSystem.layer)),
  NodeRuntime.runMain
)
