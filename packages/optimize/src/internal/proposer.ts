// MIPROv2's grounded proposer: instructions proposed by an LM that is shown a summary of the
// data set, a description of the program and of the step, demos of the step, the step's current
// instruction and a prompting tip. The signatures are ours; the ingredients are the paper's.
import { type Demo, LmConfig, type Module, Predict, Signature } from "@effect-dspy/core"
import type * as LanguageModel from "@effect/ai/LanguageModel"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { Example } from "../Example.js"
import { describeCause } from "./describe.js"
import { fieldsOf } from "./demos.js"

export const DescribeDataset = Signature.make("DescribeDataset", {
  instructions:
    "Here are examples from a data set. Write observations that hold for most or all of them: topics, content, format, length, anything a person writing instructions for this task should know. Guess what task the data set is for.",
  input: { examples: Schema.String.annotations({ description: "Examples from the data set, one JSON object per line" }) },
  output: { observations: Schema.String.annotations({ description: "What holds for most or all of the examples" }) }
})

export const DescribeDatasetFurther = Signature.make("DescribeDatasetFurther", {
  instructions:
    "Here are more examples from a data set and the observations made so far. Add observations that hold for most or all examples, or answer COMPLETE when the observations already cover them.",
  input: {
    examples: Schema.String.annotations({ description: "Examples from the data set, one JSON object per line" }),
    prior_observations: Schema.String.annotations({ description: "Observations made so far" })
  },
  output: { observations: Schema.String.annotations({ description: "New observations, or COMPLETE" }) }
})

export const SummarizeObservations = Signature.make("SummarizeObservations", {
  instructions: "Summarize these observations about a data set in two or three sentences, keeping only what matters most.",
  input: { observations: Schema.String },
  output: { summary: Schema.String.annotations({ description: "Two or three sentences" }) }
})

export const DescribeProgram = Signature.make("DescribeProgram", {
  instructions:
    "Here is the outline of a program that solves a task with calls to a language model, and an example of it at work. Describe the task it is built for and how it goes about it.",
  input: {
    program_outline: Schema.String.annotations({ description: "The program's steps and their fields" }),
    program_example: Schema.String.annotations({ description: "Inputs and outputs of the program's steps on an example" })
  },
  output: { program_description: Schema.String }
})

export const DescribeModule = Signature.make("DescribeModule", {
  instructions: "Here is the outline of a language-model program and a description of it. Describe the role of one of its steps.",
  input: {
    program_outline: Schema.String,
    program_description: Schema.String,
    program_example: Schema.String,
    module: Schema.String.annotations({ description: "The step to describe" })
  },
  output: { module_description: Schema.String }
})

export const ProposeInstruction = Signature.make("ProposeInstruction", {
  instructions:
    "Learn about a task solved with calls to a language model from the information below, then write a new instruction for one step of the program that will make the model solve the task better.",
  input: {
    dataset_description: Schema.String.annotations({ description: "What the data set is like" }),
    program_outline: Schema.String.annotations({ description: "The program's steps and their fields" }),
    program_description: Schema.String.annotations({ description: "What the program does and how" }),
    module: Schema.String.annotations({ description: "The step to write an instruction for" }),
    module_description: Schema.String.annotations({ description: "The role of that step" }),
    task_demos: Schema.String.annotations({ description: "Inputs and outputs of the step on examples" }),
    basic_instruction: Schema.String.annotations({ description: "The step's instruction today" }),
    tip: Schema.String.annotations({ description: "A suggestion for the new instruction" })
  },
  output: {
    proposed_instruction: Schema.String.annotations({ description: "The new instruction for the step" })
  }
})

/** The prompting tips a proposal draws from (one at random each), as MIPROv2's. */
export const tips: ReadonlyArray<string> = [
  "",
  "Be creative in writing the new instruction.",
  "Keep the instruction clear and concise.",
  "Make the instruction informative and descriptive.",
  "Frame the task as a high-stakes scenario for the model.",
  "Give the model a persona that fits the task (\"You are a ...\")."
]

/** A step of the program as the proposer sees it. */
export const moduleLine = (predictor: Module.PredictorInfo): string =>
  `${predictor.path}: ${predictor.signature.name}(${predictor.signature.inputFields.map((f) => f.name).join(", ")}) -> ${
    predictor.signature.outputFields.map((f) => f.name).join(", ")
  }`

/** An outline of the program: its steps, their fields and instructions (we have no source code). */
export const programOutline = (program: Module.Any): string =>
  [
    `Program ${program.name} (${program.kind}) with ${program.predictors.length} language-model step(s):`,
    ...program.predictors.map((p) => `- ${moduleLine(p)}\n  instructions: ${p.state.instructions}`)
  ].join("\n")

/** A demo as `field: value` lines in the signature's field order. */
export const demoText = (predictor: Module.PredictorInfo, demo: Demo.Encoded): string =>
  [...predictor.signature.inputFields, ...predictor.signature.outputFields]
    .filter((f) => demo[f.name] !== undefined)
    .map((f) => `${f.name}: ${typeof demo[f.name] === "string" ? demo[f.name] : JSON.stringify(demo[f.name])}`)
    .join("\n")

/** Examples as JSON lines, inputs then labels. */
export const examplesText = <I, O>(examples: ReadonlyArray<Example<I, O>>): string =>
  examples.map((e) => JSON.stringify(fieldsOf(e))).join("\n")

/** A proposal with labels and quotes taken off; empty when nothing is left. */
export const stripProposal = (text: string): string => {
  let out = text.trim()
  out = out.replace(/^(?:proposed|new|improved)?\s*instructions?\s*:\s*/i, "").trim()
  if (out.length >= 2 && ((out.startsWith("\"") && out.endsWith("\"")) || (out.startsWith("'") && out.endsWith("'")))) {
    out = out.slice(1, -1).trim()
  }
  return out
}

/** Two instructions are duplicates when they differ only in case and whitespace. */
export const instructionKey = (text: string): string => text.toLowerCase().replace(/\s+/g, " ").trim()

/** Why a proposer step gave nothing: its reply could not be read, or the call failed. */
export interface Failure {
  readonly unreadable: boolean
  readonly description: string
}

/** Runs one proposer step; a failure (an unreadable reply included) is a described Left. */
export const attempt = <A>(
  effect: Effect.Effect<A, Predict.PredictError, LanguageModel.LanguageModel>,
  settings: LmConfig.Settings
): Effect.Effect<Either.Either<A, Failure>, never, LanguageModel.LanguageModel> =>
  effect.pipe(
    LmConfig.withSettings(settings),
    Effect.map(Either.right),
    Effect.catchAllCause((cause) =>
      Cause.isInterruptedOnly(cause) ? Effect.interrupt : Effect.succeed(Either.left({
        unreadable: Option.exists(Cause.failureOption(cause), (error) => error._tag === "OutputParseError"),
        description: describeCause(cause)
      }))
    )
  )

export const predictors = {
  describeDataset: Predict.make(DescribeDataset),
  describeDatasetFurther: Predict.make(DescribeDatasetFurther),
  summarize: Predict.make(SummarizeObservations),
  describeProgram: Predict.make(DescribeProgram),
  describeModule: Predict.make(DescribeModule),
  propose: Predict.make(ProposeInstruction)
}
