import { Aggregation, ChainOfThought, History, LmConfig, Prediction, ProgramState, Signature } from "@effect-dspy/core"
import { Console, Effect } from "effect"

const solve = ChainOfThought.make(Signature.fromString("question -> answer"))

export const program = Effect.gen(function*() {
  // Five completions (DSPy's n), each a rollout of its own; the output is the first.
  const prediction = yield* solve({ question: "What is the capital of Australia?" }).pipe(LmConfig.withSettings({ n: 5 }))
  const voted = Aggregation.majority(Prediction.completions(prediction))
  // The last two LM calls, printed as DSPy's inspect_history prints them.
  yield* Console.log(yield* History.inspect(2))
  // Saved state is keyed by predictor path and field names: an edited shorthand still loads.
  const json = ProgramState.toJson(solve)
  const edited = ChainOfThought.make(Signature.fromString("question: str -> answer: str"))
  const restored = yield* ProgramState.load(edited, json)
  return { answer: voted.answer, restored }
}).pipe(Effect.provide(History.layer({ size: 20 })))
