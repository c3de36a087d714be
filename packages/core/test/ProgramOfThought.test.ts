import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { CodeSandbox, DspyError, ProgramOfThought, Signature } from "../src/index.js"
import * as ScriptedLm from "./utils/ScriptedLm.js"

const Solve = Signature.fromString("problem -> answer: float")
const sandbox = CodeSandbox.layerQuickJs({ timeout: "500 millis" })

const withModel = (respond: (prompt: Parameters<Parameters<typeof ScriptedLm.make>[0]>[0], call: number) => string) => {
  const lm = ScriptedLm.make(respond)
  return { lm, layer: Layer.merge(lm.layer, sandbox) }
}

const code = (source: string) => ScriptedLm.reply({ reasoning: "compute it", generated_code: "```javascript\n" + source + "\n```" })

describe("ProgramOfThought", () => {
  it.live("writes a program, runs it in the sandbox, and reads the answer off its result", () =>
    Effect.gen(function*() {
      const { layer, lm } = withModel((_prompt, call) =>
        call === 1
          ? code("const total = 2340 * 0.17\nSUBMIT({ answer: Math.round(total * 100) / 100 })")
          : ScriptedLm.reply({ reasoning: "the program says 397.8", answer: 397.8 })
      )
      const solve = ProgramOfThought.make(Solve)
      const prediction = yield* solve({ problem: "What is 17% of 2,340?" }).pipe(Effect.provide(layer))
      assert.strictEqual(lm.counters.calls, 2)
      const answerInputs = ScriptedLm.inputsOf(ScriptedLm.lastUserText(lm.counters.prompts[1]!))
      assert.strictEqual(answerInputs["code_output"], "{\"answer\":397.8}")
      assert.include(answerInputs["final_generated_code"]!, "SUBMIT")
      // the answer step's reasoning stays on the trace, not in the output
      assert.deepStrictEqual(prediction.output, { answer: 397.8 })
      assert.deepStrictEqual(solve.predictors.map((p) => p.path), ["generate", "regenerate", "answer"])
      assert.include(ScriptedLm.systemText(lm.counters.prompts[0]!), "JavaScript")
    }))

  it.live("a program that fails is shown to the model with its error and rewritten", () =>
    Effect.gen(function*() {
      const { layer, lm } = withModel((_prompt, call) => {
        switch (call) {
          case 1:
            return code("SUBMIT({ answer: undefinedVariable * 2 })")
          case 2:
            return code("SUBMIT({ answer: 21 * 2 })")
          default:
            return ScriptedLm.reply({ reasoning: "the program computed 42", answer: 42 })
        }
      })
      const prediction = yield* ProgramOfThought.make(Solve)({ problem: "twice 21" }).pipe(Effect.provide(layer))
      assert.deepStrictEqual(prediction.output, { answer: 42 })
      assert.strictEqual(lm.counters.calls, 3)
      const regenerate = ScriptedLm.inputsOf(ScriptedLm.lastUserText(lm.counters.prompts[1]!))
      assert.include(regenerate["previous_code"]!, "undefinedVariable")
      assert.match(regenerate["error"]!, /^Error: ReferenceError/)
      assert.strictEqual(ScriptedLm.inputsOf(ScriptedLm.lastUserText(lm.counters.prompts[2]!))["code_output"], "{\"answer\":42}")
      // the trace holds every step, the programs included
      assert.strictEqual(prediction.trace.length, 3)
    }))

  it.live("runaway programs count as failures; after maxIterations the call fails with every error", () =>
    Effect.gen(function*() {
      const { layer, lm } = withModel((_prompt, call) => call === 1 ? code("while (true) {}") : code("throw new Error('still wrong')"))
      const error = yield* Effect.flip(ProgramOfThought.make(Solve, { maxIterations: 2 })({ problem: "loop" }).pipe(Effect.provide(layer)))
      assert.instanceOf(error, DspyError.ProgramFailed)
      if (error instanceof DspyError.ProgramFailed) {
        assert.strictEqual(error.attempts, 2)
        assert.deepStrictEqual(error.errors, ["Error: the program ran past its time limit", "Error: Error: still wrong"])
        assert.include(error.code, "still wrong")
      }
      assert.strictEqual(lm.counters.calls, 2)
    }))

  it.live("a reply without code is an error the model is told about", () =>
    Effect.gen(function*() {
      const { layer, lm } = withModel((_prompt, call) =>
        call === 1 ? code("") : call === 2 ? code("21 + 21") : ScriptedLm.reply({ reasoning: "r", answer: 42 })
      )
      const prediction = yield* ProgramOfThought.make(Solve)({ problem: "p" }).pipe(Effect.provide(layer))
      assert.strictEqual(prediction.output.answer, 42)
      assert.strictEqual(ScriptedLm.inputsOf(ScriptedLm.lastUserText(lm.counters.prompts[1]!))["error"], "Error: Empty code after parsing.")
      // a program's last value is its output when it does not SUBMIT
      assert.strictEqual(ScriptedLm.inputsOf(ScriptedLm.lastUserText(lm.counters.prompts[2]!))["code_output"], "42")
    }))
})
