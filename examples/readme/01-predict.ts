import { NodeRuntime } from "@effect/platform-node"
import { Predict, Signature } from "@effect-dspy/core"
import { Lm } from "@effect-dspy/providers"
import { Console, Effect, Schema } from "effect"

// A signature: typed inputs and outputs, each an effect/Schema, plus instructions.
const Classify = Signature.make("ClassifyTicket", {
  instructions: "Classify a support ticket.",
  input: { ticket: Schema.String.annotations({ description: "The customer's message" }) },
  output: {
    category: Schema.Literal("billing", "bug", "feature", "other"),
    urgent: Schema.Boolean
  }
})

const classify = Predict.make(Classify)

const program = Effect.gen(function*() {
  const prediction = yield* classify({ ticket: "I was charged twice this month!" })
  // prediction.output is { category: "billing" | "bug" | "feature" | "other"; urgent: boolean }
  yield* Console.log(prediction.output, prediction.usage.totalTokens)
})

// Lm.layerFromEnv picks the model from EFFECT_DSPY_MODEL / OPENAI_API_KEY / ANTHROPIC_API_KEY,
// or the offline simulator when no key is set.
program.pipe(Effect.provide(Lm.layerFromEnv), NodeRuntime.runMain)
