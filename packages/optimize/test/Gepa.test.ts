import { assert, describe, it } from "@effect/vitest"
import { ChainOfThought, Module, Predict, ProgramState, Signature } from "@effect-dspy/core"
import * as LanguageModel from "@effect/ai/LanguageModel"
import { Effect, Exit, Fiber, Layer, Logger, LogLevel, Schema, TestClock } from "effect"
import { Checkpoint, Gepa, LabeledFewShot } from "../src/index.js"
import * as Student from "./support/ScriptedStudent.js"

const Solve = Signature.make("Solve", { input: { question: Schema.String }, output: { answer: Schema.Finite } })
const quiet = Logger.withMinimumLogLevel(LogLevel.Error)

// The student starts with a labelled demo of each kind but instructions that name no concept:
// only instructions can take it to the optimum, and only feedback says which concepts.
const setup = (seed: number) =>
  Effect.gen(function*() {
    const data = Student.makeProblems(45, seed)
    const student = yield* LabeledFewShot.compile(ChainOfThought.make(Solve), data.slice(0, 6), { k: 6 })
    return { student, train: data.slice(6, 21), val: data.slice(21) }
  })

describe("Gepa", () => {
  it.effect("reflecting on feedback lifts the scripted student well above its baseline, within the metric-call budget", () =>
    Effect.gen(function*() {
      for (const seed of [1, 2, 3, 4]) {
        const { layer } = yield* Student.layer({ seed })
        const { student, train, val } = yield* setup(seed)
        const { program, report } = yield* Gepa.compile(student, train, {
          metric: Student.feedbackMetric,
          valset: val,
          maxMetricCalls: 300,
          seed
        }).pipe(Effect.provide(layer))
        // Seeds 1-4: baselines 0.25-0.46, best 0.96-1.00.
        assert.isBelow(report.baselineScore!, 0.5)
        assert.isAtLeast(report.bestScore!, 0.9)
        const state = program.predictors[0]!.state
        assert.isTrue(Student.isOptimal(state.instructions, state.demos))
        // A full evaluation may overshoot the budget once, never more.
        assert.isAtMost(report.metricCalls, 300 + val.length)
        assert.isAtLeast(report.metricCalls, 300)
        assert.isTrue(report.paretoFront.includes(report.best) || report.candidates[report.best]!.meanScore === report.bestScore)
        // Every kept candidate beat its parent on a minibatch, and the lineage is recorded.
        assert.isTrue(report.candidates.slice(1).every((c) => c.parents.length >= 1 && c.parents.every((p) => p < report.candidates.indexOf(c))))
      }
    }).pipe(quiet), 60_000)

  it.effect("uses a separate reflection model when given one", () =>
    Effect.gen(function*() {
      const task = yield* Student.layer({ seed: 5 })
      const reflection = yield* Student.layer({ seed: 5 })
      const { student, train, val } = yield* setup(5)
      yield* Gepa.compile(student, train, {
        metric: Student.feedbackMetric,
        valset: val,
        maxMetricCalls: 150,
        reflectionModel: reflection.layer,
        seed: 5
      }).pipe(Effect.provide(task.layer))
      assert.strictEqual(task.counts.reflection, 0)
      assert.isAbove(reflection.counts.reflection, 0)
      assert.strictEqual(reflection.counts.student, 0)
    }).pipe(quiet))

  it.effect("merges two candidates that improved different predictors", () =>
    Effect.gen(function*() {
      // Two predictors: one answers additions and subtractions, the other multiplications.
      const routed = Module.make(
        {
          name: "Routed",
          submodules: {
            linear: Predict.make(Solve, { name: "Linear", demos: [{ question: "add 2 3", answer: 5 }, { question: "sub 9 4", answer: 5 }] }),
            product: Predict.make(Solve, { name: "Product", demos: [{ question: "mul 2 3", answer: 6 }] })
          }
        },
        ({ linear, product }, input: { readonly question: string }) =>
          Effect.map((input.question.startsWith("mul") ? product : linear)(input), (p) => p.output)
      )
      let merged = 0
      let accepted = 0
      for (const seed of [1, 2, 3, 4, 5, 6]) {
        const { layer } = yield* Student.layer({ seed, forget: 0 })
        const data = Student.makeProblems(60, seed)
        const { program, report } = yield* Gepa.compile(routed, data.slice(0, 30), {
          metric: Student.feedbackMetric,
          valset: data.slice(30),
          maxMetricCalls: 400,
          seed
        }).pipe(Effect.provide(layer))
        merged += report.merges.tried
        accepted += report.merges.accepted
        const mergedCandidates = report.candidates.filter((c) => c.parents.length === 2)
        assert.strictEqual(mergedCandidates.length, report.merges.accepted)
        for (const c of mergedCandidates) {
          // A merge takes each predictor's instruction from one of its parents.
          const [a, b] = c.parents.map((p) => report.candidates[p]!)
          for (const path of ["linear", "product"]) {
            assert.isTrue(c.instructions[path] === a!.instructions[path] || c.instructions[path] === b!.instructions[path])
          }
        }
        assert.isAbove(report.bestScore!, report.baselineScore!)
        assert.deepStrictEqual(Object.keys(ProgramState.save(program).predictors), ["linear", "product"])
      }
      assert.isAbove(merged, 0)
      assert.isAbove(accepted, 0)
    }).pipe(quiet), 60_000)

  it.effect("needs exactly one budget, and says so before any LM call", () =>
    Effect.gen(function*() {
      const { counts, layer } = yield* Student.layer()
      const { student, train } = yield* setup(6)
      const none = yield* Gepa.compile(student, train, { metric: Student.feedbackMetric }).pipe(Effect.provide(layer), Effect.exit)
      const both = yield* Gepa.compile(student, train, { metric: Student.feedbackMetric, auto: "light", maxMetricCalls: 10 }).pipe(
        Effect.provide(layer),
        Effect.exit
      )
      assert.isTrue(Exit.isFailure(none) && String(none.cause).includes("exactly one of auto"))
      assert.isTrue(Exit.isFailure(both) && String(both.cause).includes("several are set"))
      // A budget that would pay for the baseline only.
      const tooSmall = yield* Gepa.compile(student, train, { metric: Student.feedbackMetric, maxMetricCalls: train.length }).pipe(
        Effect.provide(layer),
        Effect.exit
      )
      assert.isTrue(Exit.isFailure(tooSmall) && String(tooSmall.cause).includes("cannot find anything"))
      assert.strictEqual(counts.student + counts.reflection, 0)
      assert.strictEqual(Gepa.autoBudget(1, 6, 24), 24 + 30 + 10 * 35 + 3 * 24)
    }).pipe(quiet))

  it.effect("a metric that always throws stops the run after a few runs of the program as given", () =>
    Effect.gen(function*() {
      const { counts, layer } = yield* Student.layer({ seed: 8 })
      const data = Student.makeProblems(80, 8)
      const exit = yield* Gepa.compile(ChainOfThought.make(Solve), data.slice(0, 20), {
        metric: () => {
          throw new Error("a bug in the metric")
        },
        valset: data.slice(20),
        maxMetricCalls: 500,
        seed: 8
      }).pipe(Effect.provide(layer), Effect.exit)
      assert.isTrue(Exit.isFailure(exit) && String(exit.cause).includes("TooManyErrors"))
      assert.isTrue(Exit.isFailure(exit) && String(exit.cause).includes("a bug in the metric"))
      // maxErrors (10) failures, plus the runs already started (concurrency 8), not the 60 of the set.
      assert.isAtMost(counts.student, 18)
    }).pipe(quiet))

  it.effect("a reflection model that cannot answer stops the run instead of spending the budget on minibatches", () =>
    Effect.gen(function*() {
      const task = yield* Student.layer({ seed: 9 })
      let reflections = 0
      // Every reply lacks the field markers, so no instruction can be read from it.
      const mute = Layer.effect(
        LanguageModel.LanguageModel,
        LanguageModel.make({
          generateText: () =>
            Effect.sync(() => {
              reflections++
              return [{ type: "text", text: "I would rather not." }, { type: "finish", reason: "stop", usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 } }]
            }),
          streamText: () => {
            throw new Error("not streamed")
          }
        })
      )
      const { student, train, val } = yield* setup(9)
      const exit = yield* Gepa.compile(student, train, {
        metric: Student.feedbackMetric,
        valset: val,
        maxMetricCalls: 2000,
        reflectionModel: mute,
        maxErrors: 4,
        seed: 9
      }).pipe(Effect.provide(task.layer), Effect.exit)
      assert.isTrue(Exit.isFailure(exit) && String(exit.cause).includes("5 reflection calls in a row failed"))
      assert.isAbove(reflections, 0)
      // The baseline on the validation set and a few minibatches of three (five reflected on, some
      // skipped as already perfect), not a budget of 2000 runs.
      assert.isAtMost(task.counts.student, val.length + 10 * 3)
    }).pipe(quiet))

  it.effect("a fixed seed gives the same candidates and program whatever the concurrency", () =>
    Effect.gen(function*() {
      const { layer } = yield* Student.layer({ seed: 10 })
      const { student, train, val } = yield* setup(10)
      const run = (concurrency: number) =>
        Gepa.compile(student, train, { metric: Student.feedbackMetric, valset: val, maxMetricCalls: 200, seed: 10, concurrency }).pipe(
          Effect.provide(layer)
        )
      const a = yield* run(1)
      const b = yield* run(8)
      assert.deepStrictEqual(a.report.candidates, b.report.candidates)
      assert.deepStrictEqual(a.report.trials, b.report.trials)
      assert.strictEqual(ProgramState.toJson(a.program), ProgramState.toJson(b.program))
    }).pipe(quiet))

  it.effect("resumes after an interruption to the same candidates and program", () =>
    Effect.gen(function*() {
      const { student, train, val } = yield* setup(7)
      const options = { metric: Student.feedbackMetric, valset: val, maxMetricCalls: 250, seed: 7 }
      const reference = yield* Student.layer({ seed: 7 })
      const whole = yield* Gepa.compile(student, train, options).pipe(Effect.provide(reference.layer))

      const store = yield* Checkpoint.memory()
      const first = yield* Student.layer({ seed: 7 })
      const fiber = yield* Gepa.compile(student, train, { ...options, checkpoint: store }).pipe(Effect.provide(first.layer), Effect.fork)
      while ((yield* store.saves) < 12) yield* TestClock.adjust(1)
      yield* Fiber.interrupt(fiber)
      const second = yield* Student.layer({ seed: 7 })
      const resumed = yield* Gepa.compile(student, train, { ...options, checkpoint: store }).pipe(Effect.provide(second.layer))
      assert.isTrue(resumed.report.resumed)
      assert.deepStrictEqual(resumed.report.candidates, whole.report.candidates)
      assert.deepStrictEqual(resumed.report.trials, whole.report.trials)
      assert.deepStrictEqual(ProgramState.save(resumed.program), ProgramState.save(whole.program))
      assert.isBelow(second.counts.student, reference.counts.student)
    }).pipe(quiet))
})
