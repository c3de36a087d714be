import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { Aggregation, BestOfN, ChainOfThought, LmCache, LmConfig, Predict, Prediction, Signature } from "../src/index.js"
import * as ScriptedLm from "./utils/ScriptedLm.js"

const QA = Signature.fromString("question -> answer")

/** A model whose reply names the settings it was called with. */
const settingsEcho = () => {
  const seen: Array<LmConfig.Settings> = []
  const lm = ScriptedLm.make(() =>
    Effect.map(LmConfig.LmConfig, (config) => {
      seen.push(config)
      return ScriptedLm.reply({ answer: `rollout ${config.rolloutId ?? "none"} at ${config.temperature ?? "default"}` })
    })
  )
  return { lm, seen }
}

describe("n completions", () => {
  it.effect("LmConfig.n asks for n rollouts; the prediction carries them all, the output is the first", () =>
    Effect.gen(function*() {
      const { lm, seen } = settingsEcho()
      const prediction = yield* Predict.make(QA)({ question: "Name a color" }).pipe(
        LmConfig.withSettings({ n: 3 }),
        Effect.provide(lm.layer)
      )
      assert.strictEqual(lm.counters.calls, 3)
      const all = Prediction.completions(prediction).map((c) => c.answer)
      assert.deepStrictEqual(all, ["rollout 0 at 0.7", "rollout 1 at 0.7", "rollout 2 at 0.7"])
      assert.strictEqual(prediction.output.answer, all[0])
      // no provider is asked for n choices of which one would be read
      assert.isTrue(seen.every((s) => s.n === undefined))
      assert.strictEqual(prediction.usage.lmCalls, 3)
      assert.strictEqual(prediction.trace.length, 3)
    }))

  it.effect("the n option; a temperature set above 0.15 is kept; rollouts count from the one in force", () =>
    Effect.gen(function*() {
      const { lm } = settingsEcho()
      const prediction = yield* Predict.make(QA, { n: 2 })({ question: "q" }).pipe(
        LmConfig.withSettings({ temperature: 0.3, rolloutId: 10 }),
        Effect.provide(lm.layer)
      )
      assert.deepStrictEqual(Prediction.completions(prediction).map((c) => c.answer), ["rollout 10 at 0.3", "rollout 11 at 0.3"])
    }))

  it.effect("one completion: no completions field, and nothing changes in the call", () =>
    Effect.gen(function*() {
      const { lm, seen } = settingsEcho()
      const prediction = yield* Predict.make(QA)({ question: "q" }).pipe(Effect.provide(lm.layer))
      assert.isUndefined(prediction.completions)
      assert.deepStrictEqual(Prediction.completions(prediction), [prediction.output])
      assert.strictEqual(prediction.output.answer, "rollout none at default")
      assert.isUndefined(seen[0]!.rolloutId)
    }))

  it.effect("ChainOfThought completions and a majority vote over them", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make((_prompt, call) => ScriptedLm.reply({ reasoning: `r${call}`, answer: call === 2 ? "Lyon" : "Paris" }))
      const prediction = yield* ChainOfThought.make(QA, { n: 3 })({ question: "Capital of France?" }).pipe(Effect.provide(lm.layer))
      const winner = Aggregation.majority(Prediction.completions(prediction))
      assert.strictEqual(winner.answer, "Paris")
    }))

  it.effect("rollouts are distinct requests for the cache, and the same rollouts again are hits", () =>
    Effect.gen(function*() {
      const { lm } = settingsEcho()
      const cached = LmCache.layer().pipe(Layer.provide(lm.layer))
      const [a, b] = yield* Effect.all([Predict.make(QA, { n: 3 })({ question: "q" }), Predict.make(QA, { n: 3 })({ question: "q" })]).pipe(
        Effect.provide(cached)
      )
      assert.strictEqual(lm.counters.calls, 3)
      assert.deepStrictEqual(Prediction.completions(a), Prediction.completions(b))
    }))

  it.effect("BestOfN's attempts are rollouts counted from the one in force", () =>
    Effect.gen(function*() {
      const { lm, seen } = settingsEcho()
      const best = BestOfN.make(Predict.make(QA), { n: 3, threshold: 2, reward: () => 0 })
      yield* best({ question: "q" }).pipe(LmConfig.withSettings({ rolloutId: 100 }), Effect.provide(lm.layer))
      assert.deepStrictEqual(seen.map((s) => s.rolloutId), [100, 101, 102])
    }))
})
