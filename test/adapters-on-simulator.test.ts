/**
 * The adapters against the simulator's replies, drifting or not: a TypeScript `enum` output
 * (`Schema.Enums`) is text, a bare `positive` is its value (it failed even on our own simulator
 * before issue 15), and every drifted reply still parses to a value of the output's type.
 */
import { Predict, Signature } from "@effect-dspy/core"
import { Lm } from "@effect-dspy/providers"
import { SimulatorProvider } from "@effect-dspy/simulator"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"

enum Sentiment {
  Positive = "positive",
  Negative = "negative",
  Neutral = "neutral"
}

const Classify = Signature.make("Classify", {
  instructions: "Classify the sentiment of the review.",
  input: { review: Schema.String },
  output: { sentiment: Schema.Enums(Sentiment), confidence: Schema.Number }
})

const reviews = ["Loved it.", "Terrible service.", "It was fine.", "Best latte in town!", "Cold coffee again.", "Okay, I guess."]

const modelWith = (drift: number, seed: number) =>
  Lm.layer("simulator/sim-1", { retry: false }).pipe(Layer.provide(SimulatorProvider.layer({ drift, seed })))

describe("adapters on the simulator", () => {
  for (const drift of [0, 1]) {
    it.effect(`a Schema.Enums output is read as text (drift ${drift})`, () =>
      Effect.gen(function*() {
        const classify = Predict.make(Classify)
        let nearMisses = 0
        for (const seed of [1, 2, 3]) {
          for (const review of reviews) {
            const prediction = yield* classify({ review }).pipe(Effect.provide(modelWith(drift, seed)))
            assert.include(Object.values(Sentiment), prediction.output.sentiment)
            assert.isNumber(prediction.output.confidence)
            nearMisses += prediction.trace.reduce((n, entry) => n + entry.nearMisses.length, 0)
          }
        }
        // with every reply drifting, the adapter must have forgiven something, and said so
        if (drift === 1) assert.isAbove(nearMisses, 0)
      }))
  }
})
