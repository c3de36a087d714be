/**
 * The programs the `effect-dspy batch` command can run: built-ins by name, or a TypeScript /
 * JavaScript file whose default export is a module (loaded with a dynamic `import`, which works
 * under `tsx`), optionally with saved state (`ProgramState`) loaded into it.
 *
 * @since 0.1.0
 */
import type * as LanguageModel from "@effect/ai/LanguageModel"
import * as ChainOfThought from "@effect-dspy/core/ChainOfThought"
import type * as Module from "@effect-dspy/core/Module"
import * as Predict from "@effect-dspy/core/Predict"
import * as ProgramState from "@effect-dspy/core/ProgramState"
import * as Signature from "@effect-dspy/core/Signature"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import { pathToFileURL } from "node:url"

/**
 * A module the command can run: any input, any output, needing only a language model.
 *
 * @since 0.2.0
 */
export type Runnable = Module.Module<unknown, unknown, unknown, LanguageModel.LanguageModel>

/**
 * The program cannot be found or loaded.
 *
 * @since 0.2.0
 */
export class ProgramError extends Schema.TaggedError<ProgramError>("@effect-dspy/cli/ProgramError")("ProgramError", {
  program: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `cannot load program ${this.program}: ${this.reason}`
  }
}

/**
 * `question -> answer`.
 *
 * @since 0.2.0
 */
export const QA = Signature.make("QA", {
  instructions: "Answer the question accurately in one or two sentences.",
  input: { question: Schema.String },
  output: { answer: Schema.String }
})

/**
 * `text -> sentiment`.
 *
 * @since 0.2.0
 */
export const Sentiment = Signature.make("Sentiment", {
  instructions: "Classify the sentiment of the text.",
  input: { text: Schema.String },
  output: { sentiment: Schema.Literal("positive", "neutral", "negative") }
})

/**
 * `text -> summary`.
 *
 * @since 0.2.0
 */
export const Summarize = Signature.make("Summarize", {
  instructions: "Summarize the text in one sentence.",
  input: { text: Schema.String },
  output: { summary: Schema.String }
})

/**
 * The built-in programs by name.
 *
 * @since 0.2.0
 */
export const builtIns: Readonly<Record<string, { readonly description: string; readonly module: Runnable }>> = {
  qa: { description: "question -> answer (Predict)", module: Predict.make(QA) as unknown as Runnable },
  "qa-cot": {
    description: "question -> reasoning, answer (ChainOfThought)",
    module: ChainOfThought.make(QA) as unknown as Runnable
  },
  sentiment: { description: "text -> sentiment (Predict)", module: Predict.make(Sentiment) as unknown as Runnable },
  summarize: { description: "text -> summary (Predict)", module: Predict.make(Summarize) as unknown as Runnable }
}

/**
 * Whether a value looks like a core module.
 *
 * @since 0.2.0
 */
export const isModule = (u: unknown): u is Module.Any =>
  typeof u === "function" && Predicate.hasProperty(u, "predictors") && Array.isArray(u.predictors) &&
  Predicate.hasProperty(u, "withState") && typeof u.withState === "function" && Predicate.hasProperty(u, "kind") &&
  typeof u.kind === "string"

const looksLikePath = (spec: string) => /[/\\]/.test(spec) || /\.(?:[cm]?[jt]s|tsx)$/.test(spec)

const reasonOf = (error: unknown): string =>
  Predicate.hasProperty(error, "message") && typeof error.message === "string" ? error.message : String(error)

/**
 * Loads a program: a built-in name (`qa`, `qa-cot`, `sentiment`, `summarize`) or a module file,
 * then applies saved state when `state` names a JSON file.
 *
 * @since 0.2.0
 */
export const load = (
  spec: string,
  options: { readonly state?: string | undefined } = {}
): Effect.Effect<Runnable, ProgramError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const fail = (reason: string) => new ProgramError({ program: spec, reason })
    let module: Runnable
    const builtIn = builtIns[spec]
    if (builtIn !== undefined) module = builtIn.module
    else if (!looksLikePath(spec)) {
      return yield* fail(
        `no built-in program has this name (built-ins: ${Object.keys(builtIns).join(", ")}); ` +
          "or give the path of a module file (e.g. ./my-program.ts)"
      )
    } else {
      const absolute = path.resolve(spec)
      if (!(yield* fs.exists(absolute).pipe(Effect.orElseSucceed(() => false)))) return yield* fail("no such file")
      const loaded = yield* Effect.tryPromise({
        try: () => import(pathToFileURL(absolute).href) as Promise<Record<string, unknown>>,
        catch: (error) =>
          fail(
            Predicate.hasProperty(error, "code") && error.code === "ERR_UNKNOWN_FILE_EXTENSION"
              // plain Node (the installed command) does not load TypeScript
              ? `it failed to load: ${reasonOf(error)}; run the command under tsx to load TypeScript ` +
                "(NODE_OPTIONS=\"--import tsx\" npx effect-dspy ...), or give a .js/.mjs file"
              : `it failed to load: ${reasonOf(error)}`
          )
      })
      const exported = loaded["default"]
      if (!isModule(exported)) {
        return yield* fail("its default export is not an effect-dspy module (write `export default Predict.make(...)`)")
      }
      // A module file declares its own types; at run time it gets a language model (and the
      // module checks its inputs against its signature).
      module = exported as unknown as Runnable
    }
    const statePath = options.state
    if (statePath === undefined) return module
    const text = yield* fs.readFileString(statePath).pipe(
      Effect.mapError((error) => fail(`cannot read state file ${statePath}: ${reasonOf(error)}`))
    )
    return yield* ProgramState.load(module, text).pipe(Effect.mapError((error) => fail(error.message)))
  })
