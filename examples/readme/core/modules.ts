import { Aggregation, ChainOfThought, KNN, MultiChainComparison, Predict, Signature } from "@effect-dspy/core"
import { Effect } from "effect"

const QA = Signature.fromString("question -> answer")
const think = ChainOfThought.make(QA)

// Three attempts, then the model compares them (MultiChainComparison), or a plain vote.
const compare = MultiChainComparison.make(QA, { m: 3 })
export const compared = (question: string) =>
  Effect.gen(function*() {
    const attempts = yield* Effect.all([think({ question }), think({ question }), think({ question })], { concurrency: 3 })
    const outputs = attempts.map((p) => p.output)
    const voted = Aggregation.majority([outputs[0]!, ...outputs.slice(1)]) // the most common answer
    const final = yield* compare({ question, completions: outputs })
    return { voted: voted.answer, compared: final.output.answer, rationale: final.output.rationale }
  })

// Demos chosen per call by similarity; the embedding function is yours (here a toy one;
// an @effect/ai EmbeddingModel's embedMany fits).
const embed = (texts: ReadonlyArray<string>) =>
  Effect.succeed(texts.map((text) => ["capital", "plus", "color"].map((word) => text.split(word).length - 1)))
export const withNeighbours = KNN.make(Predict.make(QA), {
  k: 2,
  trainset: [
    { question: "What is the capital of France?", answer: "Paris" },
    { question: "What is 2 plus 2?", answer: "4" },
    { question: "What color is the sky?", answer: "Blue" }
  ],
  embed
})
