import { assert, describe, it } from "@effect/vitest"
import { ChainOfThought, ProgramState, Signature } from "@effect-dspy/core"
import { Effect, Exit, Fiber, Schema, TestClock } from "effect"
import { Checkpoint, Metric, RandomSearch } from "../src/index.js"
import * as Student from "./support/ScriptedStudent.js"

const Solve = Signature.make("Solve", { input: { question: Schema.String }, output: { answer: Schema.Finite } })
const metric = Metric.numericTolerance<{ readonly answer: number }>("answer", 0)
const student = ChainOfThought.make(Solve)

describe("RandomSearch", () => {
  it.effect("validates on examples its demos did not come from: a copy-only model scores nothing", () =>
    Effect.gen(function*() {
      const { counts, layer } = yield* Student.layer({ copyOnly: true })
      const { report } = yield* RandomSearch.compile(student, Student.makeProblems(20, 1), { metric, numCandidates: 2 }).pipe(
        Effect.provide(layer)
      )
      assert.strictEqual(counts.leaked, 0)
      assert.isTrue(report.trials.every((t) => t.score === 0 && t.examples === 16))
      assert.strictEqual(report.best, "as given")
      // The metric also scored the bootstraps' teacher runs.
      assert.isAbove(report.metricCalls, report.trials.length * 16)
    }))

  it.effect("a metric that always throws stops the run after a few runs of the program as given", () =>
    Effect.gen(function*() {
      const { counts, layer } = yield* Student.layer({ seed: 3 })
      const exit = yield* RandomSearch.compile(student, Student.makeProblems(100, 3), {
        metric: () => {
          throw new Error("a bug in the metric")
        },
        numCandidates: 2
      }).pipe(Effect.provide(layer), Effect.exit)
      assert.isTrue(Exit.isFailure(exit) && String(exit.cause).includes("TooManyErrors"))
      // maxErrors (10) failures plus the runs already started (concurrency 8), not the 80 of the
      // validation set for each of the first candidates.
      assert.isAtMost(counts.student, 18)
    }))

  it.effect("maxBootstrappedDemos: 0 gives candidates with labelled demos only", () =>
    Effect.gen(function*() {
      const { layer } = yield* Student.layer({ seed: 4 })
      const { candidates } = yield* RandomSearch.compile(student, Student.makeProblems(30, 4), {
        metric,
        numCandidates: 3,
        maxBootstrappedDemos: 0,
        maxLabeledDemos: 3,
        seed: 4
      }).pipe(Effect.provide(layer))
      const demos = candidates.flatMap((c) => c.program.predictors[0]!.state.demos)
      assert.isAbove(demos.length, 0)
      // A bootstrapped demo of a ChainOfThought carries the teacher's reasoning; a labelled one does not.
      assert.isTrue(demos.every((demo) => !("reasoning" in demo)))
    }))

  it.effect("resumes after an interruption to the same candidates and program", () =>
    Effect.gen(function*() {
      const data = Student.makeProblems(40, 2)
      const options = { metric, numCandidates: 4, seed: 2, maxBootstrappedDemos: 3, maxLabeledDemos: 3 }
      const reference = yield* Student.layer({ seed: 2 })
      const whole = yield* RandomSearch.compile(student, data, options).pipe(Effect.provide(reference.layer))
      const store = yield* Checkpoint.memory()
      const first = yield* Student.layer({ seed: 2 })
      const fiber = yield* RandomSearch.compile(student, data, { ...options, checkpoint: store }).pipe(
        Effect.provide(first.layer),
        Effect.fork
      )
      while ((yield* store.saves) < 3) yield* TestClock.adjust(1)
      yield* Fiber.interrupt(fiber)
      const second = yield* Student.layer({ seed: 2 })
      const resumed = yield* RandomSearch.compile(student, data, { ...options, checkpoint: store }).pipe(Effect.provide(second.layer))
      assert.isTrue(resumed.report.resumed)
      assert.deepStrictEqual(resumed.report.trials, whole.report.trials)
      assert.deepStrictEqual(ProgramState.save(resumed.program), ProgramState.save(whole.program))
      assert.isBelow(second.counts.student, reference.counts.student)
    }))

  it.effect("caches its LM calls by default: the same program for fewer model calls; cache: false asks the model every time", () =>
    Effect.gen(function*() {
      const run = (cache: boolean | undefined) =>
        Effect.gen(function*() {
          const { counts, layer } = yield* Student.layer({ seed: 5 })
          const { candidates, report } = yield* RandomSearch.compile(student, Student.makeProblems(24, 5), {
            metric,
            numCandidates: 3,
            seed: 5,
            ...(cache === undefined ? {} : { cache })
          }).pipe(Effect.provide(layer))
          return { calls: counts.student, scores: report.trials.map((t) => t.score), states: candidates.map((c) => ProgramState.toJson(c.program)) }
        })
      const cached = yield* run(undefined)
      const uncached = yield* run(false)
      assert.deepStrictEqual(cached.scores, uncached.scores)
      assert.deepStrictEqual(cached.states, uncached.states)
      assert.isBelow(cached.calls, uncached.calls)
    }))
})
