import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { BestOfN, JsonAdapter, Adapter, LmConfig, Predict, Refine, Signature } from "../src/index.js"
import * as ScriptedLm from "./utils/ScriptedLm.js"

const QA = Signature.fromString("question -> answer")

describe("BestOfN and Refine", () => {
  it.effect("BestOfN stops at the first attempt that reaches the threshold", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make((_p, call) => ScriptedLm.reply({ answer: call === 3 ? "yes" : "a long answer" }))
      const best = BestOfN.make(Predict.make(QA), {
        n: 5,
        threshold: 1,
        reward: (_input, output) => (output.answer.split(" ").length === 1 ? 1 : 0)
      })
      const prediction = yield* best({ question: "q" }).pipe(Effect.provide(lm.layer))
      assert.strictEqual(prediction.output.answer, "yes")
      assert.strictEqual(lm.counters.calls, 3)
      assert.strictEqual(prediction.usage.lmCalls, 3)
    }))

  it.effect("BestOfN returns the best when none reaches the threshold, with distinct rollouts", () =>
    Effect.gen(function*() {
      const rollouts: Array<number | undefined> = []
      const lm = ScriptedLm.make((_p, call) => ScriptedLm.reply({ answer: "x".repeat(call) }))
      const best = BestOfN.make(Predict.make(QA), {
        n: 3,
        threshold: 100,
        reward: (_input, output) =>
          Effect.map(LmConfig.LmConfig, (config) => {
            rollouts.push(config.rolloutId)
            return output.answer.length
          })
      })
      const prediction = yield* best({ question: "q" }).pipe(Effect.provide(lm.layer))
      assert.strictEqual(prediction.output.answer, "xxx")
      assert.strictEqual(lm.counters.calls, 3)
    }))

  it.effect("Refine passes advice to the next attempt", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make((prompt) => {
        const system = ScriptedLm.systemText(prompt)
        if (system.includes("`advice`")) return ScriptedLm.reply({ advice: "Answer with one word." })
        return ScriptedLm.reply({ answer: system.includes("Answer with one word.") ? "Paris" : "It is Paris" })
      })
      const refined = Refine.make(Predict.make(QA), {
        n: 3,
        threshold: 1,
        reward: (_input, output) => (output.answer.split(" ").length === 1 ? 1 : 0)
      })
      const prediction = yield* refined({ question: "Capital of France?" }).pipe(Effect.provide(lm.layer))
      assert.strictEqual(prediction.output.answer, "Paris")
      assert.strictEqual(lm.counters.calls, 3) // attempt, advice, attempt
    }))

  it.effect("the JSON adapter recovers JSON from text when the provider ignores structured output", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make(() => "Here you go:\n```json\n{\"answer\": \"42\"}\n```")
      const qa = Predict.make(QA)
      const prediction = yield* qa({ question: "q" }).pipe(
        Adapter.withAdapter(JsonAdapter.adapter),
        Effect.provide(lm.layer)
      )
      assert.strictEqual(prediction.output.answer, "42")
      assert.strictEqual(lm.counters.calls, 1)
    }))
})
