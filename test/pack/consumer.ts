/**
 * A user's TypeScript program against the packed packages (`test/pack/run.mjs` copies it into a
 * project with module/moduleResolution nodenext, strict and skipLibCheck false, where every
 * declaration file we ship is checked). In this repository `pnpm typecheck` checks it against
 * the sources too, so an API change that breaks it shows up before packing.
 *
 * It imports every public package's main entry point and a few subpaths, and checks that
 * internal modules are not importable.
 */
import { Batch, RateControl } from "@effect-dspy/batch"
import { Cli } from "@effect-dspy/cli"
import { DistributedBatch, Runner } from "@effect-dspy/cluster"
import { ChainOfThought, EventBus, Predict, Signature } from "@effect-dspy/core"
import * as PredictModule from "@effect-dspy/core/Predict"
import { Evaluate, Example, Metric } from "@effect-dspy/optimize"
import { Lm } from "@effect-dspy/providers"
import { Simulator } from "@effect-dspy/simulator"
import { Telemetry } from "@effect-dspy/telemetry"
import { Effect, Layer, Schema } from "effect"


const Classify = Signature.make("Classify", {
  instructions: "Classify a support ticket.",
  input: { ticket: Schema.String },
  output: { category: Schema.Literal("billing", "bug", "other"), urgent: Schema.Boolean }
})

const classify = Predict.make(Classify)
const solve = ChainOfThought.make(Signature.fromString("question -> answer: number"))

// The output type comes from the signature, with no casts.
export const category: Effect.Effect<"billing" | "bug" | "other", unknown, unknown> = Effect.map(
  classify({ ticket: "I was charged twice" }),
  (prediction) => prediction.output.category
)

export const answer = Effect.map(solve({ question: "What is 6 x 7?" }), (prediction) => {
  const n: number = prediction.output.answer
  return n
})

// the same module through its subpath
export const samePredict: typeof Predict.make = PredictModule.make

// models: from the environment, or the in-process simulator
export const fromEnv = Lm.layerFromEnv()
export const simulated = Simulator.layer()

// evaluation
const devset = [Example.make({ question: "What is 2 + 2?" }, { answer: 4 })]
export const evaluation = Evaluate.run(solve, devset, Metric.numericTolerance<{ readonly answer: number }>("answer", 0))

// batch over an array, under rate control
export const batch = Effect.gen(function*() {
  const limiter = yield* RateControl.make({ maxConcurrency: 4, requestsPerMinute: 600 })
  return yield* Batch.run(classify, [{ ticket: "The app crashes" }], { concurrency: 4 }).pipe(
    Effect.provideService(RateControl.RateControl, limiter)
  )
})

// distributed batches: a runner and a coordinator's layer (built only when provided)
export const runner = Runner.layer
export const coordinator = DistributedBatch.layer

// tracing and events
export const traced = classify({ ticket: "Where is my invoice?" }).pipe(
  Effect.provide(Layer.mergeAll(Telemetry.layerFromEnv, EventBus.layer))
)

// internal modules are not entry points
// @ts-expect-error the exports map does not list it
export type Hidden = typeof import("@effect-dspy/core/internal/callModel")

// the command, embedded
export const command: (argv: ReadonlyArray<string>) => Effect.Effect<number, never, unknown> = Cli.run
