import { ChainOfThought, ProgramState, Signature } from "@effect-dspy/core"
import { BootstrapFewShot, Evaluate, Example, Metric } from "@effect-dspy/optimize"
import { Effect } from "effect"

const solve = ChainOfThought.make(Signature.fromString("question -> answer: number"))
const trainset = [
  Example.make({ question: "Ava has 3 apples and buys 4 more. How many now?" }, { answer: 7 }),
  Example.make({ question: "Ben buys 3 boxes with 5 pens in each. How many pens?" }, { answer: 15 })
]
const metric = Metric.numericTolerance<{ readonly answer: number }>("answer", 0)

export const optimize = Effect.gen(function*() {
  const { program } = yield* BootstrapFewShot.compile(solve, trainset, { metric })
  const { mean } = yield* Evaluate.run(program, trainset, metric, { concurrency: 4 })
  // Save the learned instructions and demos; load them into a fresh program later.
  const json = ProgramState.toJson(program)
  const restored = yield* ProgramState.load(ChainOfThought.make(Signature.fromString("question -> answer: number")), json)
  return { mean, restored }
})
