import { NodeRuntime } from "@effect/platform-node"
import { ChainOfThought, Signature } from "@effect-dspy/core"
import { SimulatorProvider } from "@effect-dspy/simulator"
import { Telemetry } from "@effect-dspy/telemetry"
import { Effect } from "effect"

const solve = ChainOfThought.make(Signature.fromString("question -> answer"))

// Spans: ChainOfThought(question -> answer) > chat {model}, with GenAI and Langfuse attributes.
// Telemetry.layerFromEnv exports to OTEL_EXPORTER_OTLP_ENDPOINT and/or to Langfuse when
// LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY are set, in the background, through a bounded
// queue; it flushes when the program ends. With neither set, it costs nothing.
solve({ question: "Why is the sky blue?" }).pipe(
  Telemetry.withSession({ sessionId: "session-42", userId: "ada" }),
  Effect.provide(SimulatorProvider.layerFromEnvOrSimulator()),
  Effect.provide(Telemetry.layerFromEnv),
  NodeRuntime.runMain
)
