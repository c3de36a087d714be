/**
 * The word-problem task of the optimize example: a signature, the data set shipped in
 * `data/word-problems.jsonl`, and a scripted simulator "tutor" used offline.
 */
import { ChainOfThought, Signature } from "@effect-dspy/core"
import { Example } from "@effect-dspy/optimize"
import { Script } from "@effect-dspy/simulator"
import { Schema } from "effect"
import { readFileSync } from "node:fs"

export const Solve = Signature.make("SolveWordProblem", {
  instructions: "Solve the arithmetic word problem. Answer with a single number.",
  input: { question: Schema.String },
  output: { answer: Schema.Finite }
})

export const solve = ChainOfThought.make(Solve)

/** The five kinds of problem in the data set. */
export type Kind = "add" | "subtract" | "multiply" | "divide" | "percent"

export interface Row {
  readonly question: string
  readonly answer: number
  readonly kind: Kind
}

const Row = Schema.Struct({
  question: Schema.String,
  answer: Schema.Finite,
  kind: Schema.Literal("add", "subtract", "multiply", "divide", "percent")
})

/** Reads the shipped data set (a JSON object per line); a malformed line throws naming its number. */
export const load = (path = new URL("./data/word-problems.jsonl", import.meta.url)): ReadonlyArray<Row> =>
  readFileSync(path, "utf8").split("\n").filter((line) => line.trim() !== "").map((line, i) => {
    try {
      return Schema.decodeUnknownSync(Row)(JSON.parse(line))
    } catch (error) {
      throw new Error(`word-problems.jsonl line ${i + 1}: ${error instanceof Error ? error.message : String(error)}`)
    }
  })

export const toExample = (row: Row) => Example.make({ question: row.question }, { answer: row.answer })

// How the scripted tutor recognises a problem's kind, and its two numbers.
const patterns: ReadonlyArray<readonly [Kind, RegExp, (a: number, b: number) => number]> = [
  ["add", /has (\d+) \w+ and buys (\d+) more/, (a, b) => a + b],
  ["subtract", /had (\d+) \w+ and gave away (\d+)/, (a, b) => a - b],
  ["multiply", /buys (\d+) boxes with (\d+) \w+ in each/, (a, b) => a * b],
  ["divide", /shares (\d+) \w+ equally among (\d+) friends/, (a, b) => a / b],
  ["percent", /costs (\d+) dollars and is (\d+) percent off/, (a, b) => (a * b) / 100]
]

/** The kind of a problem and its correct answer, if it is one of ours. */
export const classify = (question: string): { readonly kind: Kind; readonly answer: number; readonly a: number; readonly b: number } | undefined => {
  for (const [kind, pattern, compute] of patterns) {
    const match = pattern.exec(question)
    if (match !== null) {
      const a = Number(match[1])
      const b = Number(match[2])
      return { kind, answer: compute(a, b), a, b }
    }
  }
  return undefined
}

/**
 * A simulated model that solves a problem correctly only when its prompt carries a demo of the
 * same kind; otherwise it adds the two numbers (right only for addition problems). This makes
 * the effect of demo selection visible offline; it shows the optimizer's plumbing, not that a
 * real model learns.
 */
export const tutor: Script.ScriptRule = (request) => {
  const question = request.inputs["question"]
  if (question === undefined || !request.outputFields.some((f) => f.name === "answer")) return undefined
  const problem = classify(question)
  if (problem === undefined) return undefined
  const hasMatchingDemo = request.demos.some((demo) => {
    const demoQuestion = demo.inputs["question"]
    return demoQuestion !== undefined && classify(demoQuestion)?.kind === problem.kind
  })
  const answer = hasMatchingDemo ? problem.answer : problem.a + problem.b
  return Script.fields({
    reasoning: hasMatchingDemo
      ? `This is a ${problem.kind} problem like the example, so the answer is ${answer}.`
      : `I will add the numbers: ${problem.a} + ${problem.b} = ${answer}.`,
    answer
  })
}
