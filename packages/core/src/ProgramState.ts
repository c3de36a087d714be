/**
 * Saving and loading a program's learnable state: the instructions and demos of every named
 * predictor, as JSON validated on load against the program it is loaded into.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Demo from "./Demo.js"
import { InvalidState } from "./DspyError.js"
import * as Module from "./Module.js"

/**
 * The saved form.
 *
 * @since 0.1.0
 */
export const SavedState = Schema.Struct({
  version: Schema.Literal(1),
  predictors: Schema.Record({
    key: Schema.String,
    value: Schema.Struct({
      signature: Schema.String,
      instructions: Schema.String,
      demos: Schema.Array(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
    })
  })
})
/**
 * The saved form's type.
 *
 * @since 0.1.0
 */
export type SavedState = typeof SavedState.Type

/**
 * The learnable state of a module, ready for `JSON.stringify`.
 *
 * @since 0.1.0
 */
export const save = (module: { readonly predictors: ReadonlyArray<Module.PredictorInfo> }): SavedState => ({
  version: 1,
  predictors: Object.fromEntries(
    module.predictors.map((p) => [p.path, {
      signature: p.signature.name,
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

/**
 * Loads saved state (a parsed object or JSON text) into a module, returning the re-stated
 * module. Fails with `InvalidState` when the JSON is malformed, names a predictor the module
 * lacks, or holds a demo that does not fit its predictor's signature. Predictors the state does
 * not mention keep their current state.
 *
 * @example
 * ```ts
 * import { Predict, ProgramState, Signature } from "@effect-dspy/core"
 * const qa = Predict.make(Signature.fromString("question -> answer"))
 * const json = ProgramState.toJson(qa)
 * const restored = ProgramState.load(qa, json) // Effect<typeof qa, InvalidState>
 * ```
 *
 * @since 0.1.0
 */
export const load = <M extends Module.Any>(module: M, saved: unknown): Effect.Effect<M, InvalidState> =>
  Effect.suspend(() => {
    let raw: unknown = saved
    if (typeof saved === "string") {
      try {
        raw = JSON.parse(saved)
      } catch (error) {
        return Effect.fail(new InvalidState({ reason: `not JSON: ${error instanceof Error ? error.message : String(error)}` }))
      }
    }
    const decoded = Schema.decodeUnknownEither(SavedState, { onExcessProperty: "error" })(raw)
    if (Either.isLeft(decoded)) {
      return Effect.fail(new InvalidState({ reason: ParseResult.TreeFormatter.formatErrorSync(decoded.left) }))
    }
    const byPath = new Map(module.predictors.map((p) => [p.path, p]))
    const next: Record<string, Module.PredictorState> = {}
    for (const [path, state] of Object.entries(decoded.right.predictors)) {
      const predictor = byPath.get(path)
      if (predictor === undefined) {
        return Effect.fail(
          new InvalidState({
            reason: `the program has no predictor "${path}" (it has: ${[...byPath.keys()].join(", ")})`
          })
        )
      }
      if (state.signature !== predictor.signature.name) {
        return Effect.fail(
          new InvalidState({
            reason: `predictor "${path}" answers ${predictor.signature.name}, but the state was saved for ${state.signature}`
          })
        )
      }
      for (const [index, demo] of state.demos.entries()) {
        const check = Demo.decode(predictor.signature, demo)
        if (Either.isLeft(check)) {
          return Effect.fail(new InvalidState({ reason: `"${path}" demos[${index}]: ${check.left.reason}` }))
        }
      }
      next[path] = { instructions: state.instructions, demos: state.demos }
    }
    // withState keeps the module's own type: it rebuilds the same kind of module.
    return Effect.succeed(module.withState({ predictors: next }) as M)
  })
