import { ChainOfThought, Module, Predict, Signature } from "@effect-dspy/core"
import { Simulator, Script } from "@effect-dspy/simulator"
import { Effect, Schema } from "effect"
import { Example } from "../src/index.js"

// A tiny two-kind task: the scripted model is right only with a demo of the same kind in its prompt.
export const Solve = Signature.make("Solve", {
  input: { question: Schema.String },
  output: { answer: Schema.Finite }
})

const kindOf = (q: string) => (q.startsWith("add") ? "add" : "mul")
const numbers = (q: string) => q.split(" ").slice(1).map(Number) as [number, number]
const truth = (q: string) => {
  const [a, b] = numbers(q)
  return kindOf(q) === "add" ? a + b : a * b
}

export const problems = Array.from({ length: 40 }, (_, i) => {
  const question = `${i % 2 === 0 ? "add" : "mul"} ${i + 2} ${(i % 5) + 3}`
  return Example.make({ question }, { answer: truth(question) })
})

export const tutor: Script.ScriptRule = (request) => {
  const q = request.inputs["question"]
  if (q === undefined || !request.outputFields.some((f) => f.name === "answer")) return undefined
  const seen = request.demos.some((d) => d.inputs["question"] !== undefined && kindOf(d.inputs["question"]) === kindOf(q))
  const [a, b] = numbers(q)
  return Script.fields({ reasoning: "scripted", answer: seen ? truth(q) : a - b })
}

export const lm = Simulator.layer({ script: [tutor] })

/** A two-predictor program: a CoT solver then a checker that repeats the answer. */
export const Check = Signature.make("Check", {
  input: { question: Schema.String, proposed: Schema.Finite },
  output: { answer: Schema.Finite }
})
export const checker: Script.ScriptRule = (request) =>
  request.inputs["proposed"] !== undefined
    ? Script.fields({ answer: Number(request.inputs["proposed"]) })
    : undefined

export const pipeline = Module.make(
  { name: "Pipeline", submodules: { solve: ChainOfThought.make(Solve), check: Predict.make(Check) } },
  ({ check, solve }, input: { readonly question: string }) =>
    Effect.gen(function*() {
      const s = yield* solve(input)
      const c = yield* check({ question: input.question, proposed: s.output.answer })
      return c.output
    })
)
