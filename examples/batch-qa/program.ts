/**
 * A program for `effect-dspy batch --program examples/batch-qa/program.ts`: its default export
 * is a module. This one answers trivia questions with a short answer and a confidence.
 */
import { ChainOfThought, Signature } from "@effect-dspy/core"
import { Schema } from "effect"

const Trivia = Signature.make("Trivia", {
  instructions: "Answer the trivia question with a short answer.",
  input: { question: Schema.String },
  output: {
    answer: Schema.String.annotations({ description: "A few words at most" }),
    confidence: Schema.Number.annotations({ description: "Between 0 and 1" })
  }
})

export default ChainOfThought.make(Trivia)
