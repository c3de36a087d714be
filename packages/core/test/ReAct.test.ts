import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Schema } from "effect"
import { ReAct, Signature, Tool } from "../src/index.js"
import * as ScriptedLm from "./utils/ScriptedLm.js"

const QA = Signature.make("OrderQA", {
  instructions: "Answer questions about orders.",
  input: { question: Schema.String },
  output: { answer: Schema.String }
})

const calls: Array<string> = []
const lookup = Tool.make({
  name: "lookup_order",
  description: "Finds an order by id",
  parameters: { id: Schema.String },
  handler: ({ id }) => {
    calls.push(id)
    return id === "missing" ? Effect.fail("no such order") : Effect.succeed({ id, status: "shipped" })
  }
})

const step = (thought: string, tool: string, args: unknown) =>
  ScriptedLm.reply({ next_thought: thought, next_tool_name: tool, next_tool_args: args })

describe("ReAct", () => {
  it.effect("selects tools, feeds observations back, then extracts the answer", () =>
    Effect.gen(function*() {
      calls.length = 0
      const lm = ScriptedLm.make((_prompt, call) => {
        switch (call) {
          case 1:
            return step("look it up", "lookup_order", { id: "A1" })
          case 2:
            return step("I know now", "finish", {})
          default:
            return ScriptedLm.reply({ reasoning: "the tool said shipped", answer: "It has shipped." })
        }
      })
      const agent = ReAct.make(QA, { tools: [lookup] })
      const prediction = yield* agent({ question: "Where is order A1?" }).pipe(Effect.provide(lm.layer))
      assert.strictEqual(prediction.output.answer, "It has shipped.")
      assert.deepStrictEqual(calls, ["A1"])
      assert.strictEqual(prediction.usage.lmCalls, 3)
      // the second step sees the first observation in its trajectory
      const second = ScriptedLm.lastUserText(lm.counters.prompts[1]!)
      assert.include(second, "observation_0: {\"id\":\"A1\",\"status\":\"shipped\"}")
      // the react step's prompt lists the tools with their argument schemas
      assert.include(ScriptedLm.systemText(lm.counters.prompts[0]!), "(1) lookup_order, whose description is")
    }))

  it.effect("feeds tool errors and bad arguments back as observations", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make((_prompt, call) => {
        switch (call) {
          case 1:
            return step("try it", "lookup_order", { id: "missing" })
          case 2:
            return step("wrong args", "lookup_order", { order: 7 })
          case 3:
            return step("give up", "finish", {})
          default:
            return ScriptedLm.reply({ reasoning: "-", answer: "Unknown order." })
        }
      })
      const agent = ReAct.make(QA, { tools: [lookup] })
      const prediction = yield* agent({ question: "Where is order missing?" }).pipe(Effect.provide(lm.layer))
      assert.strictEqual(prediction.output.answer, "Unknown order.")
      const third = ScriptedLm.lastUserText(lm.counters.prompts[2]!)
      assert.include(third, "observation_0: Error: no such order")
      assert.include(third, "observation_1: Error: invalid arguments")
    }))

  it.effect("at the limit, extracts the answer from the trajectory; the trajectory is on the prediction", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make((prompt) =>
        ScriptedLm.systemText(prompt).includes("next_thought")
          ? step("again", "lookup_order", { id: "A1" })
          : ScriptedLm.reply({ reasoning: "the lookups say shipped", answer: "It has shipped." })
      )
      const agent = ReAct.make(QA, { tools: [lookup], maxIterations: 3 })
      const prediction = yield* agent({ question: "loop?" }).pipe(Effect.provide(lm.layer))
      assert.strictEqual(prediction.output.answer, "It has shipped.")
      assert.strictEqual(prediction.output.trajectory.length, 3)
      assert.deepStrictEqual(prediction.output.trajectory[0], {
        thought: "again",
        toolName: "lookup_order",
        toolArgs: { id: "A1" },
        observation: "{\"id\":\"A1\",\"status\":\"shipped\"}"
      })
      // three steps, then the extraction, which sees all three
      assert.strictEqual(lm.counters.calls, 4)
      assert.include(ScriptedLm.lastUserText(lm.counters.prompts[3]!), "observation_2:")
    }))

  it.effect("runs up to 20 steps by default", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make((prompt) =>
        ScriptedLm.systemText(prompt).includes("next_thought")
          ? step("again", "lookup_order", { id: "A1" })
          : ScriptedLm.reply({ reasoning: "-", answer: "done" })
      )
      const prediction = yield* ReAct.make(QA, { tools: [lookup] })({ question: "loop?" }).pipe(Effect.provide(lm.layer))
      assert.strictEqual(prediction.output.trajectory.length, 20)
      assert.strictEqual(lm.counters.calls, 21)
    }))

  it("refuses a signature with a field named trajectory", () => {
    assert.throws(() => ReAct.make(Signature.fromString("question, trajectory -> answer"), { tools: [lookup] }))
  })

  it.effect("with onLimit: fail, fails after max iterations with the trajectory and a partial answer", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make((prompt) =>
        ScriptedLm.systemText(prompt).includes("next_thought")
          ? step("again", "lookup_order", { id: "A1" })
          : ScriptedLm.reply({ reasoning: "-", answer: "partial" })
      )
      const agent = ReAct.make(QA, { tools: [lookup], maxIterations: 3, onLimit: "fail" })
      const exit = yield* Effect.exit(agent({ question: "loop?" })).pipe(Effect.provide(lm.layer))
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error._tag === "MaxIterationsReached") {
        const error = exit.cause.error
        assert.strictEqual(error.trajectory.length, 3)
        assert.strictEqual(error.trajectory[0]!.toolName, "lookup_order")
        assert.deepStrictEqual(error.partial, { answer: "partial" })
      } else {
        assert.fail("expected MaxIterationsReached")
      }
    }))
})
