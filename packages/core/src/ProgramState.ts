/**
 * Saving and loading a program's learnable state: the instructions and demos of every
 * predictor, keyed by its path in the program and checked on load against its signature's field
 * names (not its display name: a shorthand signature is named by its source text, which may be
 * edited without changing the fields), as JSON validated against the program it is loaded into.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Demo from "./Demo.js"
import { InvalidState, StateMismatch } from "./DspyError.js"
import * as Module from "./Module.js"

const Demos = Schema.Array(Schema.Record({ key: Schema.String, value: Schema.Unknown }))

/** The saved form of version 1 (before 0.2.0): predictors checked by their signature's name. */
const SavedV1 = Schema.Struct({
  version: Schema.Literal(1),
  predictors: Schema.Record({
    key: Schema.String,
    value: Schema.Struct({ signature: Schema.String, instructions: Schema.String, demos: Demos })
  })
})

/**
 * The saved form: per predictor path, its signature's name (for people to read), input and
 * output field names (what loading checks), instructions and demos. Version 1 (before 0.2.0,
 * checked by signature name) is still read.
 *
 * @since 0.1.0
 */
export const SavedState = Schema.Struct({
  version: Schema.Literal(2),
  predictors: Schema.Record({
    key: Schema.String,
    value: Schema.Struct({
      signature: Schema.String,
      inputs: Schema.Array(Schema.String),
      outputs: Schema.Array(Schema.String),
      instructions: Schema.String,
      demos: Demos
    })
  })
})
/**
 * The saved form's type.
 *
 * @since 0.1.0
 */
export type SavedState = typeof SavedState.Type

const Saved = Schema.Union(SavedState, SavedV1)

/**
 * The learnable state of a module, ready for `JSON.stringify`.
 *
 * @since 0.1.0
 */
export const save = (module: { readonly predictors: ReadonlyArray<Module.PredictorInfo> }): SavedState => ({
  version: 2,
  predictors: Object.fromEntries(
    module.predictors.map((p) => [p.path, {
      signature: p.signature.name,
      inputs: p.signature.inputFields.map((f) => f.name),
      outputs: p.signature.outputFields.map((f) => f.name),
      instructions: p.state.instructions,
      demos: p.state.demos
    }])
  )
})

/**
 * The learnable state of a module as pretty JSON text.
 *
 * @since 0.1.0
 */
export const toJson = (module: { readonly predictors: ReadonlyArray<Module.PredictorInfo> }): string =>
  JSON.stringify(save(module), null, 2)

const difference = (a: ReadonlyArray<string>, b: ReadonlyArray<string>): Array<string> => a.filter((x) => !b.includes(x))

/**
 * Loads saved state (a parsed object or JSON text) into a module, returning the re-stated
 * module. Each predictor's state is found by its path and must be for the same input and output
 * field names (in any order), else the call fails with `StateMismatch` saying which fields
 * differ. Fails with `InvalidState` when the JSON is malformed, names a predictor the module
 * lacks, or holds a demo that does not fit its predictor's signature. Predictors the state does
 * not mention keep their current state.
 *
 * @since 0.1.0
 * @example
 * ```ts
 * import { Predict, ProgramState, Signature } from "@effect-dspy/core"
 * const qa = Predict.make(Signature.fromString("question -> answer"))
 * const json = ProgramState.toJson(qa)
 * // the shorthand's text may change; the fields may not
 * const edited = Predict.make(Signature.fromString("question: str -> answer: str"))
 * const restored = ProgramState.load(edited, json) // Effect<typeof edited, InvalidState | StateMismatch>
 * ```
 */
export const load = <M extends Module.Any>(module: M, saved: unknown): Effect.Effect<M, InvalidState | StateMismatch> =>
  Effect.gen(function*() {
    const raw = typeof saved === "string"
      ? yield* Effect.try({
        try: (): unknown => JSON.parse(saved),
        catch: (error) => new InvalidState({ reason: `not JSON: ${error instanceof Error ? error.message : String(error)}` })
      })
      : saved
    const decoded = yield* Schema.decodeUnknown(Saved, { onExcessProperty: "error" })(raw).pipe(
      Effect.mapError((error) => new InvalidState({ reason: ParseResult.TreeFormatter.formatErrorSync(error) }))
    )
    const byPath = new Map(module.predictors.map((p) => [p.path, p]))
    const next: Record<string, Module.PredictorState> = {}
    // Version 1 names the signature only; version 2 its fields too.
    const states: ReadonlyArray<readonly [string, {
      readonly signature: string
      readonly fields?: { readonly inputs: ReadonlyArray<string>; readonly outputs: ReadonlyArray<string> }
      readonly instructions: string
      readonly demos: ReadonlyArray<Demo.Encoded>
    }]> = decoded.version === 2
      ? Object.entries(decoded.predictors).map(([path, p]) => [path, { ...p, fields: { inputs: p.inputs, outputs: p.outputs } }])
      : Object.entries(decoded.predictors)
    for (const [path, state] of states) {
      const predictor = byPath.get(path)
      if (predictor === undefined) {
        return yield* new InvalidState({
          reason: `the program has no predictor "${path}" (it has: ${[...byPath.keys()].join(", ")})`
        })
      }
      if (state.fields !== undefined) {
        const inputs = predictor.signature.inputFields.map((f) => f.name)
        const outputs = predictor.signature.outputFields.map((f) => f.name)
        const mismatch = {
          missingInputs: difference(inputs, state.fields.inputs),
          extraInputs: difference(state.fields.inputs, inputs),
          missingOutputs: difference(outputs, state.fields.outputs),
          extraOutputs: difference(state.fields.outputs, outputs)
        }
        if (Object.values(mismatch).some((names) => names.length > 0)) {
          return yield* new StateMismatch({ predictor: path, ...mismatch })
        }
      } else if (state.signature !== predictor.signature.name) {
        return yield* new InvalidState({
          reason: `predictor "${path}" answers ${predictor.signature.name}, but the state (version 1) was saved for ${state.signature}`
        })
      }
      for (const [index, demo] of state.demos.entries()) {
        const check = Demo.decode(predictor.signature, demo)
        if (Either.isLeft(check)) return yield* new InvalidState({ reason: `"${path}" demos[${index}]: ${check.left.reason}` })
      }
      next[path] = { instructions: state.instructions, demos: state.demos }
    }
    // withState keeps the module's own type: it rebuilds the same kind of module.
    return module.withState({ predictors: next }) as M
  })
