import { NodeRuntime } from "@effect/platform-node"
import { Predict, Signature } from "@effect-dspy/core"
import { SimulatorProvider } from "@effect-dspy/simulator"
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

// The model EFFECT_DSPY_MODEL / OPENAI_API_KEY / ANTHROPIC_API_KEY / GEMINI_API_KEY names, or,
// when none is set, the offline simulator (said in one log line). Lm.layerFromEnv() from
// @effect-dspy/providers is the same without the simulator: it fails when nothing is configured.
program.pipe(Effect.provide(SimulatorProvider.layerFromEnvOrSimulator()), NodeRuntime.runMain)
