import { Demo, type Module, type Signature } from "@effect-dspy/core"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { stableJson } from "./random.js"

/**
 * A labelled demo for a predictor from an example: the example's fields that the predictor's
 * signature has, encoded. `Right(undefined)` when the example lacks the predictor's inputs or
 * outputs (a step whose fields the data does not hold); `Left` with the reason when it has them
 * but they do not fit the signature, a mistake in the data to report rather than drop silently.
 */
export const labeledDemo = (
  signature: Signature.Any,
  fields: Readonly<Record<string, unknown>>
): Either.Either<Demo.Encoded | undefined, string> => {
  const picked: Record<string, unknown> = {}
  for (const f of [...signature.inputFields, ...signature.outputFields]) {
    if (f.name in fields && fields[f.name] !== undefined) picked[f.name] = fields[f.name]
  }
  const hasInput = signature.inputFields.some((f) => f.name in picked)
  const hasOutput = signature.outputFields.some((f) => f.name in picked)
  if (!hasInput || !hasOutput) return Either.right(undefined)
  return Either.mapLeft(Demo.encode(signature, picked), (error) => error.reason)
}

/** Train examples whose fields did not fit a predictor's signature, per predictor path. */
export class Misfits {
  private readonly byPath = new Map<string, Map<number, string>>()
  /** The demo of an example for a predictor, noting a misfit. */
  demo(path: string, signature: Signature.Any, fields: Readonly<Record<string, unknown>>, index: number) {
    const result = labeledDemo(signature, fields)
    if (Either.isRight(result)) return result.right
    const list = this.byPath.get(path) ?? new Map<number, string>()
    list.set(index, result.left)
    this.byPath.set(path, list)
    return undefined
  }
  /** A warning per predictor that lost examples, naming the first. */
  warn(optimizer: string): Effect.Effect<void> {
    return Effect.forEach(this.byPath, ([path, misfits]) => {
      const [index, reason] = [...misfits].sort((a, b) => a[0] - b[0])[0]!
      return Effect.logWarning(
        `${optimizer}: ${misfits.size} train example(s) left out of the labelled demos of ${path}, whose fields do not fit its signature; example ${index}: ${reason}`
      )
    }, { discard: true })
  }
}

/** A state that gives each predictor path these demos and keeps its instructions. */
export const withDemos = (
  module: { readonly predictors: ReadonlyArray<Module.PredictorInfo> },
  demos: ReadonlyMap<string, ReadonlyArray<Demo.Encoded>>
): Module.State => ({
  predictors: Object.fromEntries(
    module.predictors.map((p) => [p.path, { instructions: p.state.instructions, demos: demos.get(p.path) ?? [] }])
  )
})

/** Merges an example's input and expected output into one record of fields. */
export const fieldsOf = (example: { readonly input: unknown; readonly expected: unknown }): Record<string, unknown> => ({
  ...(typeof example.input === "object" && example.input !== null ? example.input : {}),
  ...(typeof example.expected === "object" && example.expected !== null ? example.expected : {})
})

// The example's inputs that a predictor's signature takes, encoded as its demos are.
const encodedInputs = (signature: Signature.Any, input: unknown): Record<string, unknown> => {
  if (typeof input !== "object" || input === null) return {}
  const record = input as Readonly<Record<string, unknown>>
  const picked: Record<string, unknown> = {}
  for (const f of signature.inputFields) if (record[f.name] !== undefined) picked[f.name] = record[f.name]
  const encoded = Demo.encode(signature, picked)
  return Either.isRight(encoded) ? { ...encoded.right } : picked
}

/**
 * Whether a demo was made from this example: every input field the demo shares with the
 * example's inputs (for this predictor's signature) holds the same value, and they share one
 * at least. This is how a teacher's prompt is kept free of the example it is bootstrapping.
 */
export const isDemoOf = (signature: Signature.Any, demo: Demo.Encoded, input: unknown): boolean => {
  const inputs = encodedInputs(signature, input)
  const shared = Object.keys(inputs).filter((name) => name in demo)
  return shared.length > 0 && shared.every((name) => stableJson(demo[name]) === stableJson(inputs[name]))
}

/** Every predictor's state as plain JSON-safe data (for fingerprints and checkpoints). */
export const describeState = (module: { readonly predictors: ReadonlyArray<Module.PredictorInfo> }) =>
  module.predictors.map((p) => ({
    path: p.path,
    signature: p.signature.name,
    instructions: p.state.instructions,
    demos: p.state.demos
  }))
