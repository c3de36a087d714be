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

  it.effect("fails after max iterations with the trajectory and a partial answer", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make((prompt) =>
        ScriptedLm.systemText(prompt).includes("next_thought")
          ? step("again", "lookup_order", { id: "A1" })
          : ScriptedLm.reply({ reasoning: "-", answer: "partial" })
      )
      const agent = ReAct.make(QA, { tools: [lookup], maxIterations: 3 })
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
