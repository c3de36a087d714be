import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Schema } from "effect"
import { ChainOfThought, Predict, Signature, Usage } from "../src/index.js"
import * as ScriptedLm from "./utils/ScriptedLm.js"

const Action = Schema.Union(
  Schema.TaggedStruct("MakeDrink", { drink: Schema.String, size: Schema.Literal("small", "medium", "large") }),
  Schema.TaggedStruct("Joke", { joke: Schema.String })
)

const Triage = Signature.make("Triage", {
  instructions: "Decide what to do for a coffee-shop customer.",
  input: { request: Schema.String, mood: Schema.Literal("happy", "neutral", "upset") },
  output: { action: Action, reply: Schema.String.annotations({ description: "What to say" }) }
})

describe("Predict", () => {
  it.effect("returns typed outputs decoded from the chat format", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make(() =>
        ScriptedLm.reply({ action: { _tag: "MakeDrink", drink: "latte", size: "large" }, reply: "Coming up!" })
      )
      const triage = Predict.make(Triage)
      const prediction = yield* triage({ request: "A big latte please", mood: "happy" }).pipe(Effect.provide(lm.layer))
      assert.deepStrictEqual(prediction.output.action, { _tag: "MakeDrink", drink: "latte", size: "large" })
      assert.strictEqual(prediction.output.reply, "Coming up!")
      assert.strictEqual(prediction.usage.lmCalls, 1)
      assert.strictEqual(lm.counters.calls, 1)
    }))

  it.effect("rejects bad input before any LM call, naming the field", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make(() => "unused")
      const triage = Predict.make(Triage)
      // a caller outside TypeScript's reach (JSON from a request) can still pass anything
      const untyped: unknown = { request: "hi", mood: "furious" }
      const exit = yield* Effect.exit(
        triage(untyped as Signature.Input<typeof Triage>).pipe(Effect.provide(lm.layer))
      )
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit) && exit.cause._tag === "Fail") {
        const error = exit.cause.error
        assert.strictEqual(error._tag, "InvalidInput")
        if (error._tag === "InvalidInput") assert.strictEqual(error.field, "mood")
      }
      assert.strictEqual(lm.counters.calls, 0)
    }))

  it.effect("re-asks once with the parse error, then fails with the raw text", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make(() => "I refuse to use your format")
      const qa = Predict.make(Signature.fromString("question -> answer: number"))
      const [exit, usage] = yield* Usage.track(Effect.exit(qa({ question: "2+2?" }))).pipe(Effect.provide(lm.layer))
      assert.strictEqual(lm.counters.calls, 2)
      assert.strictEqual(usage.lmCalls, 2)
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit) && exit.cause._tag === "Fail") {
        const error = exit.cause.error
        assert.strictEqual(error._tag, "OutputParseError")
        if (error._tag === "OutputParseError") {
          assert.strictEqual(error.raw, "I refuse to use your format")
          assert.strictEqual(error.attempts, 2)
        }
      }
      const second = ScriptedLm.lastUserText(lm.counters.prompts[1]!)
      assert.include(second, "Your previous reply could not be parsed")
    }))

  it.effect("recovers when the re-ask succeeds", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make((_p, call) => (call === 1 ? "[[ ## answer ## ]]\nfour" : ScriptedLm.reply({ answer: 4 })))
      const qa = Predict.make(Signature.fromString("question -> answer: int"))
      const prediction = yield* qa({ question: "2+2?" }).pipe(Effect.provide(lm.layer))
      assert.strictEqual(prediction.output.answer, 4)
      assert.strictEqual(prediction.usage.lmCalls, 2)
    }))

  it.effect("ChainOfThought adds reasoning before the outputs", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make(() => ScriptedLm.reply({ reasoning: "2 and 2 make 4", answer: 4 }))
      const solve = ChainOfThought.make(Signature.fromString("question -> answer: number"))
      const prediction = yield* solve({ question: "2+2?" }).pipe(Effect.provide(lm.layer))
      assert.strictEqual(prediction.output.reasoning, "2 and 2 make 4")
      assert.strictEqual(prediction.output.answer, 4)
      const system = ScriptedLm.systemText(lm.counters.prompts[0]!)
      assert.isTrue(system.indexOf("`reasoning`") < system.indexOf("`answer`"))
    }))
})
