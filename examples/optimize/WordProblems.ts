/**
 * The word-problem task of the optimize example: a signature, the data set shipped in
 * `data/word-problems.jsonl`, and a metric with feedback.
 */
import { ChainOfThought, Signature } from "@effect-dspy/core"
import { Example, Metric } from "@effect-dspy/optimize"
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

/** What each kind of problem asks for, in the words a teacher would use. */
export const concepts: Record<Kind, string> = {
  add: "total",
  subtract: "difference",
  multiply: "product",
  divide: "quotient",
  percent: "percentage"
}

/**
 * Exact answers, with feedback for GEPA's reflection: what the answer should have been and what
 * kind of quantity the problem asks for (the metric author's knowledge of the data, not a leak
 * of the scripted model's rule: a real model benefits from the same hint).
 */
export const metric: Metric.Metric<{ readonly question: string }, { readonly answer: number }> = (example, prediction) => {
  if (Math.abs(prediction.output.answer - (example.expected.answer ?? Number.NaN)) <= 1e-6) return Metric.withFeedback(1, "Correct.")
  const kind = classify(example.input.question)?.kind
  return Metric.withFeedback(
    0,
    `Wrong: the answer is ${example.expected.answer}, not ${prediction.output.answer}.${
      kind === undefined ? "" : ` This problem asks for the ${concepts[kind]} of the two numbers.`
    }`
  )
}

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
