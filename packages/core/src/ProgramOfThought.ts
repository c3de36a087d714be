/**
 * `ProgramOfThought`: the model writes a program that computes the answer, the program runs in
 * the `CodeSandbox` in context, and the model reads the outputs off the program's result
 * (DSPy's module of the same name, with JavaScript in a WebAssembly sandbox where DSPy runs
 * Python). A program that fails (a syntax or runtime error, a limit of the sandbox) is shown to
 * the model with its error, to be rewritten, up to `maxIterations` programs in all.
 * Three predictors: `generate`, `regenerate` and `answer`.
 *
 * @since 0.2.0
 */
import type * as LanguageModel from "@effect/ai/LanguageModel"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as ChainOfThought from "./ChainOfThought.js"
import { CodeSandbox, type CodeError } from "./CodeSandbox.js"
import { ProgramFailed } from "./DspyError.js"
import * as Module from "./Module.js"
import * as Predict from "./Predict.js"
import * as Signature from "./Signature.js"

/**
 * The errors a ProgramOfThought call can fail with.
 *
 * @since 0.2.0
 */
export type ProgramOfThoughtError = Predict.PredictError | ProgramFailed

/**
 * A ProgramOfThought module over `S`.
 *
 * @since 0.2.0
 */
export interface ProgramOfThought<S extends Signature.Any> extends
  Module.Module<
    Signature.Input<S>,
    Signature.Output<S>,
    ProgramOfThoughtError,
    LanguageModel.LanguageModel | CodeSandbox
  >
{}

/**
 * Options of a ProgramOfThought.
 *
 * @since 0.2.0
 */
export interface Options {
  readonly name?: string | undefined
  /** How many programs to write and run at most before failing (default 3, DSPy's). */
  readonly maxIterations?: number | undefined
  readonly maxParseRetries?: number | undefined
  /** The language named in the prompts (default: the sandbox's, `JavaScript`). */
  readonly language?: string | undefined
}

const codeField = (language: string) =>
  Schema.String.annotations({ description: `${language} code that answers the question` })

const names = (fields: Readonly<Record<string, unknown>>) => Object.keys(fields).map((name) => `\`${name}\``).join(", ")

const signatures = (signature: Signature.Any, language: string) => {
  const inputs = signature.input.fields
  const outputs = names(signature.output.fields)
  const generate = Signature.make(`${signature.name}.generate`, {
    instructions: [
      `You will be given ${names(inputs)} and you will respond with \`generated_code\`.`,
      `Generate executable ${language} code that programmatically computes the correct ${outputs}.`,
      "After you're done with the computation and think you have the final output, make sure to submit your output by calling the preloaded function `SUBMIT()`.",
      `You must structure your output as an object, like {"field_a": value_a, ...}, with the correct value for the field(s): ${outputs}.`,
      "The code runs in a sandbox with the language's built-ins only: no modules, files or network."
    ].join("\n"),
    input: inputs,
    output: { generated_code: codeField(language) }
  })
  const regenerateInputs = {
    ...inputs,
    previous_code: Schema.String.annotations({ description: `previously-generated ${language} code that errored` }),
    error: Schema.String.annotations({ description: `error message from previously-generated ${language} code` })
  }
  const regenerate = Signature.make(`${signature.name}.regenerate`, {
    instructions: [
      `You are given ${names(regenerateInputs)} due to an error in previous code.`,
      "Your task is to correct the error and provide the new `generated_code`."
    ].join("\n"),
    input: regenerateInputs,
    output: { generated_code: codeField(language) }
  })
  const answerInputs = {
    ...inputs,
    final_generated_code: Schema.String.annotations({ description: `${language} code that answers the question` }),
    code_output: Schema.String.annotations({ description: `output of previously-generated ${language} code` })
  }
  const answer = ChainOfThought.withReasoning(Signature.make(`${signature.name}.answer`, {
    instructions: `Given the final code ${names(answerInputs)}, provide the final ${outputs}.`,
    input: answerInputs,
    output: signature.output.fields
  }))
  return {
    generate: ChainOfThought.withReasoning(generate),
    regenerate: ChainOfThought.withReasoning(regenerate),
    answer
  }
}

/**
 * The program in a reply, as DSPy reads it: the text before a `---` line or three blank lines,
 * the inside of a fenced block if there is one. `undefined` and a reason when there is none.
 */
const parseCode = (reply: string): { readonly code: string } | { readonly error: string } => {
  const text = reply.split("---")[0]!.split("\n\n\n")[0]!
  const fenced = /```(?:[A-Za-z]+)?[ \n]([\s\S]*?)[ \n]?```/.exec(text)
  const code = (fenced?.[1] ?? text).trim()
  return code.length === 0 ? { error: "Error: Empty code after parsing." } : { code }
}

const outputText = (result: { readonly submitted: string | undefined; readonly value: string | undefined; readonly printed: string }) =>
  result.submitted ?? (result.value !== undefined && result.value !== "null" ? result.value : undefined) ??
    (result.printed.length > 0 ? result.printed.trimEnd() : "(the program produced no output)")

const errorText = (error: CodeError) => `Error: ${error.detail}`

/**
 * Makes a ProgramOfThought module; it needs a `CodeSandbox` (`CodeSandbox.layerQuickJs()`).
 *
 * @since 0.2.0
 * @example
 * ```ts
 * import { CodeSandbox, ProgramOfThought, Signature } from "@effect-dspy/core"
 * import { Effect } from "effect"
 *
 * const solve = ProgramOfThought.make(Signature.fromString("problem -> answer: float"))
 * const program = solve({ problem: "What is 17% of 2,340?" }).pipe(Effect.provide(CodeSandbox.layerQuickJs()))
 * // needs a LanguageModel too
 * ```
 */
export const make = <S extends Signature.Any>(signature: S, options?: Options): ProgramOfThought<S> => {
  const name = options?.name ?? signature.name
  const maxIterations = Math.max(1, options?.maxIterations ?? 3)
  const retries = Math.max(0, options?.maxParseRetries ?? 1)
  const language = options?.language ?? "JavaScript"
  const sigs = signatures(signature, language)

  const build = (states: Readonly<Record<"generate" | "regenerate" | "answer", Module.PredictorState>>): ProgramOfThought<S> => {
    const predictor = (path: "generate" | "regenerate" | "answer"): Predict.Predictor => ({
      id: Symbol(`${name}.${path}`),
      name: `${name}.${path}`,
      signature: sigs[path],
      state: states[path],
      maxParseRetries: retries
    })
    const generate = predictor("generate")
    const regenerate = predictor("regenerate")
    const answer = predictor("answer")

    const body = (input: Signature.Input<S>) =>
      Effect.gen(function*() {
        const sandbox = yield* CodeSandbox
        const inputs = input as Readonly<Record<string, unknown>>
        let reply = String((yield* Predict.run(generate, inputs))["generated_code"])
        const errors: Array<string> = []
        for (let attempt = 1;; attempt++) {
          const parsed = parseCode(reply)
          const ran = "error" in parsed
            ? { code: reply, error: parsed.error }
            : yield* sandbox.run(parsed.code).pipe(
              Effect.map((result) => ({ code: parsed.code, output: outputText(result) })),
              Effect.catchAll((error) => Effect.succeed({ code: parsed.code, error: errorText(error) }))
            )
          if ("output" in ran) {
            const outputs = yield* Predict.run(answer, { ...inputs, final_generated_code: ran.code, code_output: ran.output })
            const { reasoning: _reasoning, ...rest } = outputs
            return rest
          }
          errors.push(ran.error)
          if (attempt >= maxIterations) {
            return yield* new ProgramFailed({ module: name, attempts: attempt, code: ran.code, errors })
          }
          reply = String((yield* Predict.run(regenerate, { ...inputs, previous_code: ran.code, error: ran.error }))["generated_code"])
        }
      })

    return Module.fromFunction(
      (input: Signature.Input<S>) =>
        Module.instrument(
          { name, kind: "ProgramOfThought", signature: signature.name, input },
          // The answer predictor's outputs, `reasoning` removed: the signature's `Output`.
          body(input) as Effect.Effect<Signature.Output<S>, ProgramOfThoughtError, LanguageModel.LanguageModel | CodeSandbox>
        ),
      {
        name,
        kind: "ProgramOfThought",
        signature,
        predictors: [
          { path: "generate", id: generate.id, signature: sigs.generate, state: states.generate },
          { path: "regenerate", id: regenerate.id, signature: sigs.regenerate, state: states.regenerate },
          { path: "answer", id: answer.id, signature: sigs.answer, state: states.answer }
        ],
        withState: (state) =>
          build({
            generate: state.predictors["generate"] ?? states.generate,
            regenerate: state.predictors["regenerate"] ?? states.regenerate,
            answer: state.predictors["answer"] ?? states.answer
          })
      }
    )
  }

  return build({
    generate: { instructions: sigs.generate.instructions, demos: [] },
    regenerate: { instructions: sigs.regenerate.instructions, demos: [] },
    answer: { instructions: sigs.answer.instructions, demos: [] }
  })
}
