import { ReAct, Signature, Tool } from "@effect-dspy/core"
import { Effect, Schema } from "effect"

const search = Tool.make({
  name: "search",
  description: "Searches the knowledge base",
  parameters: { query: Schema.String },
  handler: ({ query }) => Effect.succeed(`No results for ${query}.`)
})

// Up to 20 steps by default; at the limit the answer is extracted from the trajectory
// (onLimit: "fail" fails with MaxIterationsReached instead). toolCalling: "native" uses the
// model's own tool calling instead of DSPy's prompt format.
const agent = ReAct.make(Signature.fromString("question -> answer"), {
  tools: [search],
  onLimit: "extract",
  toolCalling: "native"
})

export const run = Effect.map(agent({ question: "Who wrote Dune?" }), (prediction) => ({
  answer: prediction.output.answer,
  steps: prediction.output.trajectory.map((step) => `${step.toolName}(${JSON.stringify(step.toolArgs)})`)
}))
