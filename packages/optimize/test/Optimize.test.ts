import { assert, describe, it } from "@effect/vitest"
import { ChainOfThought, ProgramState, Predict, Signature } from "@effect-dspy/core"
import { Simulator } from "@effect-dspy/simulator"
import { Effect } from "effect"
import { BootstrapFewShot, Evaluate, Example, LabeledFewShot, Metric, Mipro, RandomSearch } from "../src/index.js"
import { checker, lm, pipeline, problems, Solve, tutor } from "./fixtures.js"

const metric = Metric.numericTolerance<{ readonly answer: number }>("answer", 0)
const solve = ChainOfThought.make(Solve)

describe("metrics", () => {
  const prediction = (answer: string) => ({ output: { answer }, usage: undefined as never, trace: [] })
  it("exact match, contains, numeric tolerance", () => {
    const example = Example.make({ q: "x" }, { answer: "Paris" })
    assert.isTrue(Metric.exactMatch<{ answer: string }>("answer")(example, prediction(" paris ")))
    assert.isFalse(Metric.exactMatch<{ answer: string }>("answer")(example, prediction("Paris, France")))
    assert.isTrue(Metric.contains<{ answer: string }>("answer")(example, prediction("It is Paris, France")))
    const n = Example.make({ q: "x" }, { answer: "3.0" })
    assert.isTrue(Metric.numericTolerance<{ answer: string }>("answer", 0.01)(n, prediction("3.004")))
    assert.isFalse(Metric.numericTolerance<{ answer: string }>("answer", 0.01)(n, prediction("three")))
  })

  it.effect("an LM judge is a module", () =>
    Effect.gen(function*() {
      const judge = Metric.lmJudge<{ readonly question: string }, { readonly answer: number }>({
        question: (input) => input.question,
        answer: (output) => String(output.answer)
      })
      const verdict = yield* judge(problems[0]!, { output: { answer: 1 }, usage: undefined as never, trace: [] }).pipe(
        Effect.provide(Simulator.layer())
      )
      assert.isBoolean(verdict)
    }))
})

describe("Evaluate", () => {
  it.effect("scores every example, counts failures with the failure score, exports JSON and CSV", () =>
    Effect.gen(function*() {
      const result = yield* Evaluate.run(solve, problems.slice(0, 10), metric, { concurrency: 3 })
      assert.strictEqual(result.rows.length, 10)
      assert.strictEqual(result.failed, 0)
      // zero-shot: only the examples where a - b happens to be right (none here)
      assert.strictEqual(result.mean, 0)
      assert.strictEqual(result.usage.lmCalls, 10)
      const csv = Evaluate.toCsv(result)
      assert.strictEqual(csv.trim().split("\n").length, 11)
      assert.include(csv, "index,input,expected,output,score,error")
      assert.strictEqual(JSON.parse(Evaluate.toJson(result)).rows.length, 10)
    }).pipe(Effect.provide(lm)))

  it.effect("stops starting examples after maxErrors and says how many were not attempted", () =>
    Effect.gen(function*() {
      const failing = Predict.make(Signature.fromString("question -> answer: number"), { maxParseRetries: 0 })
      const result = yield* Evaluate.run(failing, problems.slice(0, 10), metric, { concurrency: 1, maxErrors: 2 })
      assert.strictEqual(result.failed, 3)
      assert.strictEqual(result.notAttempted, 7)
      assert.isTrue(result.rows.every((r) => r.score === 0 && r.error !== undefined))
    }).pipe(Effect.provide(Simulator.layer({ script: [() => ({ _tag: "Text", text: "no markers" })] }))))
})

describe("optimizers", () => {
  it.effect("LabeledFewShot installs k demos per predictor, deterministically with a seed", () =>
    Effect.gen(function*() {
      const a = yield* LabeledFewShot.compile(pipeline, problems, { k: 5, seed: 3 })
      const b = yield* LabeledFewShot.compile(pipeline, problems, { k: 5, seed: 3 })
      const c = yield* LabeledFewShot.compile(pipeline, problems, { k: 5, seed: 4 })
      assert.deepStrictEqual(a.predictors.map((p) => [p.path, p.state.demos.length]), [["solve", 5], ["check", 5]])
      assert.deepStrictEqual(ProgramState.save(a), ProgramState.save(b))
      assert.notDeepEqual(ProgramState.save(a), ProgramState.save(c))
    }))

  it.effect("BootstrapFewShot keeps passing traces as demos in every predictor and improves the score", () =>
    Effect.gen(function*() {
      const dev = problems.slice(20)
      const before = yield* Evaluate.run(pipeline, dev, metric)
      const { program, report } = yield* BootstrapFewShot.compile(pipeline, problems.slice(0, 20), {
        metric,
        maxBootstrappedDemos: 2,
        maxLabeledDemos: 2
      })
      assert.deepStrictEqual(report.demos, { solve: 2, check: 2 })
      // bootstrapped demos carry the teacher's reasoning: they are traces, not labels
      const solveDemos = program.predictors.find((p) => p.path === "solve")!.state.demos
      assert.isTrue(solveDemos.every((d) => d["reasoning"] === "scripted"))
      const after = yield* Evaluate.run(program, dev, metric)
      assert.strictEqual(before.mean, 0)
      assert.strictEqual(after.mean, 1)
    }).pipe(Effect.provide(Simulator.layer({ script: [checker, tutor] }))))

  it.effect("random search and Mipro are reproducible with a seed and keep the best candidate", () =>
    Effect.gen(function*() {
      const train = problems.slice(0, 12)
      const options = { metric, numCandidates: 2, seed: 9, maxBootstrappedDemos: 1, maxLabeledDemos: 1 }
      const r1 = yield* RandomSearch.compile(solve, train, options)
      const r2 = yield* RandomSearch.compile(solve, train, options)
      assert.deepStrictEqual(r1.candidates.map((c) => c.score), r2.candidates.map((c) => c.score))
      assert.deepStrictEqual(ProgramState.save(r1.program), ProgramState.save(r2.program))
      assert.strictEqual(r1.candidates[0]!.label, "as given")
      assert.strictEqual(r1.report.bestScore, Math.max(...r1.candidates.map((c) => c.score)))
      assert.strictEqual(r1.report.baselineScore, r1.candidates[0]!.score)

      const miproOptions = { metric, numCandidates: 3, numTrials: 4, seed: 5, minibatch: false }
      const m1 = yield* Mipro.compile(solve, train, miproOptions)
      const m2 = yield* Mipro.compile(solve, train, miproOptions)
      assert.deepStrictEqual(m1.report.trials, m2.report.trials)
      assert.strictEqual(m1.report.trials.length, 5)
      assert.deepStrictEqual(ProgramState.save(m1.program), ProgramState.save(m2.program))
    }).pipe(Effect.provide(lm)))

  it.effect("an optimized program saved and loaded into a fresh program behaves identically", () =>
    Effect.gen(function*() {
      const { program } = yield* BootstrapFewShot.compile(solve, problems.slice(0, 10), { metric, maxBootstrappedDemos: 2 })
      const fresh = ChainOfThought.make(Solve)
      const loaded = yield* ProgramState.load(fresh, JSON.parse(ProgramState.toJson(program)))
      const dev = problems.slice(20, 30)
      const a = yield* Evaluate.run(program, dev, metric)
      const b = yield* Evaluate.run(loaded, dev, metric)
      assert.deepStrictEqual(a.rows.map((r) => r.output), b.rows.map((r) => r.output))
      assert.deepStrictEqual(ProgramState.save(loaded), ProgramState.save(program))
    }).pipe(Effect.provide(lm)))
})

