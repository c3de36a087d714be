import { assert, describe, it } from "@effect/vitest"
import { ChainOfThought, Module, Predict, ProgramState, Signature } from "@effect-dspy/core"
import { Effect, Exit, Fiber, Layer, Logger, Schema, TestClock } from "effect"
import { BootstrapFewShot, Checkpoint, Evaluate, Example, LabeledFewShot, Metric } from "../src/index.js"
import * as Student from "./support/ScriptedStudent.js"

const Solve = Signature.make("Solve", { input: { question: Schema.String }, output: { answer: Schema.Finite } })
const metric = Metric.numericTolerance<{ readonly answer: number }>("answer", 0)
const withConcepts = ChainOfThought.make(Solve, {
  instructions: "Give the sum, the product or the difference of the two numbers, as the question asks."
})

describe("BootstrapFewShot", () => {
  it.effect("a model that can only copy demos passes nothing: the example is never in its own teacher's prompt", () =>
    Effect.gen(function*() {
      const { counts, layer } = yield* Student.layer({ copyOnly: true })
      const train = Student.makeProblems(12, 1)
      const { program, report } = yield* BootstrapFewShot.compile(withConcepts, train, {
        metric,
        maxBootstrappedDemos: 4,
        maxLabeledDemos: 8
      }).pipe(Effect.provide(layer))
      assert.strictEqual(report.attempted, 12)
      assert.strictEqual(report.passed, 0)
      assert.strictEqual(counts.leaked, 0)
      assert.deepStrictEqual(report.demos, { self: 0 })
      // The student is topped up with labelled demos, and on unseen problems copying gets nothing.
      assert.strictEqual(program.predictors[0]!.state.demos.length, 8)
      const dev = yield* Evaluate.run(program, Student.makeProblems(9, 50), metric).pipe(Effect.provide(layer))
      assert.strictEqual(dev.mean, 0)
    }))

  it.effect("a user-given teacher's demos made from the example are left out of that example's run too", () =>
    Effect.gen(function*() {
      const { counts, layer } = yield* Student.layer({ copyOnly: true })
      const train = Student.makeProblems(6, 2)
      const teacher = yield* LabeledFewShot.compile(withConcepts, train, { k: 6 })
      const { report } = yield* BootstrapFewShot.compile(withConcepts, train, { metric, teacher }).pipe(Effect.provide(layer))
      assert.strictEqual(report.passed, 0)
      assert.strictEqual(counts.leaked, 0)
    }))

  it.effect("a question that appears twice in the train set is not shown to itself through its twin", () =>
    Effect.gen(function*() {
      const { counts, layer } = yield* Student.layer({ copyOnly: true })
      const once = Student.makeProblems(6, 9)
      const twice = [...once, ...once.map((e) => Example.make(e.input, e.expected))]
      // The default teacher (labelled demos of the train set) and the student as its own teacher,
      // carrying demos of every example.
      const labeled = yield* LabeledFewShot.compile(withConcepts, twice, { k: 12 })
      const byDefault = yield* BootstrapFewShot.compile(withConcepts, twice, { metric, maxLabeledDemos: 12 }).pipe(Effect.provide(layer))
      const selfTaught = yield* BootstrapFewShot.compile(labeled, twice, { metric, teacher: labeled }).pipe(Effect.provide(layer))
      assert.strictEqual(byDefault.report.attempted, 12)
      assert.strictEqual(byDefault.report.passed, 0)
      assert.strictEqual(selfTaught.report.attempted, 12)
      assert.strictEqual(selfTaught.report.passed, 0)
      assert.strictEqual(counts.leaked, 0)
    }))

  it.effect("train examples whose labels do not fit the signature are reported, not dropped in silence", () =>
    Effect.gen(function*() {
      const { layer } = yield* Student.layer({ seed: 10 })
      const warnings: Array<string> = []
      const capture = Logger.replace(
        Logger.defaultLogger,
        Logger.make(({ logLevel, message }) => {
          if (logLevel._tag === "Warning") warnings.push(String(Array.isArray(message) ? message.join(" ") : message))
        })
      )
      // Answers kept as text, where the signature's answer is a number.
      const train: ReadonlyArray<Example.Example<{ readonly question: string }, { readonly answer: number }>> = Student.makeProblems(8, 10)
        .map((e, i) => i % 2 === 0 ? e : Example.make(e.input, { answer: String(e.expected.answer) as unknown as number }))
      const labeled = yield* LabeledFewShot.compile(withConcepts, train, { k: 8 }).pipe(Effect.provide(capture))
      assert.strictEqual(labeled.predictors[0]!.state.demos.length, 4)
      const { report } = yield* BootstrapFewShot.compile(withConcepts, train, { metric, maxBootstrappedDemos: 0, maxLabeledDemos: 8 }).pipe(
        Effect.provide(Layer.merge(layer, capture))
      )
      assert.strictEqual(report.labeled["self"], 4)
      assert.strictEqual(warnings.length, 2)
      for (const warning of warnings) {
        assert.include(warning, "4 train example(s) left out of the labelled demos of self")
        assert.include(warning, "example 1:")
      }
    }))

  it.effect("bootstrapped demos come only from runs that passed, with the teacher's reasoning", () =>
    Effect.gen(function*() {
      const { layer } = yield* Student.layer({ seed: 3 })
      const train = Student.makeProblems(30, 3)
      const { program, report } = yield* BootstrapFewShot.compile(withConcepts, train, {
        metric,
        maxBootstrappedDemos: 4,
        maxLabeledDemos: 4
      }).pipe(Effect.provide(layer))
      assert.strictEqual(report.passed, 4)
      assert.isAbove(report.attempted, 4)
      const demos = program.predictors[0]!.state.demos
      assert.strictEqual(demos.length, 4)
      for (const demo of demos) {
        const q = Student.parseQuestion(String(demo["question"]))!
        assert.strictEqual(demo["answer"], q.truth)
        assert.include(String(demo["reasoning"]), "I work out")
      }
      // Every bootstrapped trial that passed scored 1; the others did not.
      assert.strictEqual(report.trials.filter((t) => t.score >= 1).length, 4)
    }))

  it.effect("one trace per predictor per example: a predictor called three times in a run gives one demo", () =>
    Effect.gen(function*() {
      const { layer } = yield* Student.layer({ seed: 4, pBoth: 1, pOne: 1, pNone: 1 })
      const step = Predict.make(Solve, { instructions: "Give the sum, the product or the difference." })
      const thrice = Module.make(
        { name: "Thrice", submodules: { step } },
        ({ step }, input: { readonly question: string }) =>
          Effect.gen(function*() {
            yield* step(input)
            yield* step(input)
            const last = yield* step(input)
            return last.output
          })
      )
      const train = Student.makeProblems(10, 4)
      const { program, report } = yield* BootstrapFewShot.compile(thrice, train, {
        metric,
        maxBootstrappedDemos: 3,
        maxLabeledDemos: 3
      }).pipe(Effect.provide(layer))
      assert.strictEqual(report.passed, 3)
      assert.deepStrictEqual(report.demos, { step: 3 })
      const questions = program.predictors[0]!.state.demos.map((d) => d["question"])
      assert.strictEqual(new Set(questions).size, 3)
    }))

  it.effect("a fixed seed gives the same program; another seed another", () =>
    Effect.gen(function*() {
      const { layer } = yield* Student.layer({ seed: 5 })
      const train = Student.makeProblems(30, 5)
      const run = (seed: number, concurrency: number) =>
        BootstrapFewShot.compile(withConcepts, train, { metric, seed, concurrency, maxBootstrappedDemos: 3, maxLabeledDemos: 6 })
          .pipe(Effect.provide(layer), Effect.map((r) => ProgramState.toJson(r.program)))
      const a = yield* run(7, 8)
      const b = yield* run(7, 1)
      const c = yield* run(8, 8)
      assert.strictEqual(a, b)
      assert.notStrictEqual(a, c)
    }))

  it.effect("stops with TooManyErrors when the teacher keeps failing, instead of spending on", () =>
    Effect.gen(function*() {
      const { counts, layer } = yield* Student.layer()
      const broken = Predict.make(Signature.make("Broken", {
        input: { question: Schema.String },
        output: { verdict: Schema.Literal("yes", "no") }
      }), { maxParseRetries: 0 })
      const exit = yield* BootstrapFewShot.compile(broken, Student.makeProblems(40, 6).map((e) => Example.make(e.input, {})), {
        metric: () => true,
        maxErrors: 3,
        concurrency: 2
      }).pipe(Effect.provide(layer), Effect.exit)
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) assert.include(String(exit.cause), "TooManyErrors")
      assert.isAtMost(counts.other + counts.student, 4)
    }))

  it.effect("resumes from its checkpoint after an interruption, to the same program, without redoing finished examples", () =>
    Effect.gen(function*() {
      const train = Student.makeProblems(40, 7)
      const options = { metric, maxBootstrappedDemos: 6, maxLabeledDemos: 6, concurrency: 2 }
      const reference = yield* Student.layer({ seed: 7 })
      const whole = yield* BootstrapFewShot.compile(withConcepts, train, options).pipe(Effect.provide(reference.layer))

      const store = yield* Checkpoint.memory()
      const first = yield* Student.layer({ seed: 7 })
      // The first run is interrupted once it has saved three chunks.
      const fiber = yield* BootstrapFewShot.compile(withConcepts, train, { ...options, checkpoint: store }).pipe(
        Effect.provide(first.layer),
        Effect.fork
      )
      while ((yield* store.saves) < 3) yield* TestClock.adjust(1)
      yield* Fiber.interrupt(fiber)
      const second = yield* Student.layer({ seed: 7 })
      const resumed = yield* BootstrapFewShot.compile(withConcepts, train, { ...options, checkpoint: store }).pipe(
        Effect.provide(second.layer)
      )
      assert.isTrue(resumed.report.resumed)
      assert.strictEqual(ProgramState.toJson(resumed.program), ProgramState.toJson(whole.program))
      assert.deepStrictEqual(resumed.report.trials, whole.report.trials)
      assert.isBelow(second.counts.student, reference.counts.student)
      assert.isAtLeast(first.counts.student + second.counts.student, reference.counts.student)
    }))

  it.effect("a checkpoint of another run is refused", () =>
    Effect.gen(function*() {
      const { layer } = yield* Student.layer()
      const store = yield* Checkpoint.memory()
      const train = Student.makeProblems(6, 8)
      yield* BootstrapFewShot.compile(withConcepts, train, { metric, checkpoint: store }).pipe(Effect.provide(layer))
      const exit = yield* BootstrapFewShot.compile(withConcepts, train.slice(1), { metric, checkpoint: store }).pipe(
        Effect.provide(layer),
        Effect.exit
      )
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) assert.include(String(exit.cause), "CheckpointMismatch")
    }))
})
