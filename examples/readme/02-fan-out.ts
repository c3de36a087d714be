import { ChainOfThought, Signature } from "@effect-dspy/core"
import { Effect } from "effect"

// The shorthand form infers types from the string: { question: string } -> { answer: number }.
const solve = ChainOfThought.make(Signature.fromString("question -> answer: number"))

const questions = ["What is 6 x 7?", "What is 2 + 2?", "What is 10 / 4?"]

// Fan out with a limit: at most 2 LM calls in flight. No barriers, no thread pools.
export const answers = Effect.forEach(
  questions,
  (question) => Effect.map(solve({ question }), (p) => p.output.answer),
  { concurrency: 2 }
)
