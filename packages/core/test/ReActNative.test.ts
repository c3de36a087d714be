import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Prompt from "@effect/ai/Prompt"
import type * as Response from "@effect/ai/Response"
import { assert, describe, it } from "@effect/vitest"
import { Effect, JSONSchema, Layer, Schema, Stream } from "effect"
import { LmCache, ReAct, Signature, Tool } from "../src/index.js"
import * as ScriptedLm from "./utils/ScriptedLm.js"

const QA = Signature.make("OrderQA", {
  instructions: "Answer questions about orders.",
  input: { question: Schema.String },
  output: { answer: Schema.String }
})

const lookups: Array<string> = []
const lookup = Tool.make({
  name: "lookup_order",
  description: "Finds an order by id",
  parameters: { id: Schema.String },
  handler: ({ id }) => Effect.sync(() => lookups.push(id)).pipe(Effect.as({ id, status: "shipped" }))
})

type Turn = Array<Response.PartEncoded>
const call = (name: string, params: unknown, thought = ""): Turn => [
  ...(thought === "" ? [] : [{ type: "text" as const, text: thought }]),
  { type: "tool-call", id: `c-${name}`, name, params },
  { type: "finish", reason: "tool-calls", usage: { inputTokens: 5, outputTokens: 5, totalTokens: 10 } }
]
const text = (reply: string): Turn => [
  { type: "text", text: reply },
  { type: "finish", reason: "stop", usage: { inputTokens: 5, outputTokens: 5, totalTokens: 10 } }
]

/** A model with native tool calling, scripted by turn; it records what it was sent. */
const nativeModel = (script: (options: LanguageModel.ProviderOptions, turn: number) => Turn) => {
  const seen: Array<LanguageModel.ProviderOptions> = []
  const layer = Layer.effect(
    LanguageModel.LanguageModel,
    LanguageModel.make({
      generateText: (options) => Effect.sync(() => script(options, seen.push(options))),
      streamText: () => Stream.empty
    })
  )
  return { layer, seen }
}

const roles = (prompt: Prompt.Prompt) => prompt.content.map((m) => m.role)

describe("ReAct with native tool calling", () => {
  it.effect("sends the tools as tools, runs the call, and shows the result as a tool message", () =>
    Effect.gen(function*() {
      lookups.length = 0
      const model = nativeModel((options, turn) => {
        if (options.tools.length === 0) return text(ScriptedLm.reply({ reasoning: "it shipped", answer: "It has shipped." }))
        return turn === 1 ? call("lookup_order", { id: "A1" }, "Let me look it up.") : call("finish", {})
      })
      const agent = ReAct.make(QA, { tools: [lookup], toolCalling: "native" })
      const prediction = yield* agent({ question: "Where is order A1?" }).pipe(Effect.provide(model.layer))
      assert.strictEqual(prediction.output.answer, "It has shipped.")
      assert.deepStrictEqual(lookups, ["A1"])
      assert.deepStrictEqual(prediction.output.trajectory.map((s) => [s.thought, s.toolName]), [
        ["Let me look it up.", "lookup_order"],
        ["", "finish"]
      ])
      const [first, second, extract] = model.seen
      // the tools, with our parameter schema, and a required tool choice
      assert.deepStrictEqual(first!.tools.map((t) => t.name), ["lookup_order", "finish"])
      const schema = JSONSchema.make(first!.tools[0]!.parametersSchema) as { properties: Record<string, unknown>; required: Array<string> }
      assert.deepStrictEqual(schema.properties["id"], { type: "string" })
      assert.deepStrictEqual(schema.required, ["id"])
      assert.strictEqual(first!.toolChoice, "required")
      assert.deepStrictEqual(roles(first!.prompt), ["system", "user"])
      // the second step sees the call and its result as messages
      assert.deepStrictEqual(roles(second!.prompt), ["system", "user", "assistant", "tool"])
      const result = second!.prompt.content[3]!
      assert.strictEqual(result.role === "tool" ? JSON.stringify(result.content[0]!.result) : "", JSON.stringify("{\"id\":\"A1\",\"status\":\"shipped\"}"))
      // the extraction is an ordinary call, with the trajectory as text
      assert.strictEqual(extract!.tools.length, 0)
      assert.include(ScriptedLm.lastUserText(extract!.prompt), "tool_name_0: lookup_order")
    }))

  it.effect("bad arguments are an observation; a reply without a tool call is re-asked", () =>
    Effect.gen(function*() {
      const model = nativeModel((options, turn) => {
        if (options.tools.length === 0) return text(ScriptedLm.reply({ reasoning: "-", answer: "Unknown." }))
        switch (turn) {
          case 1:
            return call("lookup_order", { order: 7 })
          case 2:
            return text("I think I am done.")
          default:
            return call("finish", {})
        }
      })
      const prediction = yield* ReAct.make(QA, { tools: [lookup], toolCalling: "native" })({ question: "?" }).pipe(
        Effect.provide(model.layer)
      )
      assert.strictEqual(prediction.output.answer, "Unknown.")
      assert.match(prediction.output.trajectory[0]!.observation, /^Error: invalid arguments/)
      // the re-ask shows the reply and asks for a tool call
      const reask = model.seen[2]!.prompt
      assert.include(ScriptedLm.lastUserText(reask), "called no tool")
    }))

  it.effect("native steps are cached like any call (their tools are not run by @effect/ai)", () =>
    Effect.gen(function*() {
      const model = nativeModel((options) =>
        options.tools.length === 0 ? text(ScriptedLm.reply({ reasoning: "-", answer: "Done." })) : call("finish", {})
      )
      const agent = ReAct.make(QA, { tools: [lookup], toolCalling: "native" })
      const cached = LmCache.layer().pipe(Layer.provide(model.layer))
      yield* Effect.all([agent({ question: "same" }), agent({ question: "same" })]).pipe(Effect.provide(cached))
      assert.strictEqual(model.seen.length, 2)
    }))
})
