import { ReAct, Signature, Tool } from "@effect-dspy/core"
import { Effect, Schema } from "effect"

const lookupOrder = Tool.make({
  name: "lookup_order",
  description: "Finds an order by its id",
  parameters: { id: Schema.String },
  handler: ({ id }) => Effect.succeed({ id, status: "shipped", eta: "tomorrow" })
})

// The agent thinks, calls tools (arguments decoded by their Schema; errors fed back as
// observations), then extracts the answer from its trajectory (at the latest after maxIterations;
// `onLimit: "fail"` fails with MaxIterationsReached instead). The output carries the trajectory.
export const support = ReAct.make(Signature.fromString("question -> answer"), {
  tools: [lookupOrder],
  maxIterations: 5
})

export const reply = support({ question: "Where is my order A-17?" })
