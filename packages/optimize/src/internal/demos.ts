import { Demo, type Module, type Signature } from "@effect-dspy/core"
import * as Either from "effect/Either"
import { stableJson } from "./random.js"

/**
 * A labelled demo for a predictor from an example: the example's fields that the predictor's
 * signature has, encoded. Undefined when it would lack inputs or outputs, or does not fit.
 */
export const labeledDemo = (
  signature: Signature.Any,
  fields: Readonly<Record<string, unknown>>
): Demo.Encoded | undefined => {
  const picked: Record<string, unknown> = {}
  for (const f of [...signature.inputFields, ...signature.outputFields]) {
    if (f.name in fields && fields[f.name] !== undefined) picked[f.name] = fields[f.name]
  }
  const hasInput = signature.inputFields.some((f) => f.name in picked)
  const hasOutput = signature.outputFields.some((f) => f.name in picked)
  if (!hasInput || !hasOutput) return undefined
  const encoded = Demo.encode(signature, picked)
  return Either.isRight(encoded) ? encoded.right : undefined
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

/** A module's state without the demos made from an example (see `isDemoOf`). */
export const stateWithout = (
  module: { readonly predictors: ReadonlyArray<Module.PredictorInfo> },
  input: unknown
): Module.State => ({
  predictors: Object.fromEntries(module.predictors.map((p) => [p.path, {
    instructions: p.state.instructions,
    demos: p.state.demos.filter((demo) => !isDemoOf(p.signature, demo, input))
  }]))
})

/** Every predictor's state as plain JSON-safe data (for fingerprints and checkpoints). */
export const describeState = (module: { readonly predictors: ReadonlyArray<Module.PredictorInfo> }) =>
  module.predictors.map((p) => ({
    path: p.path,
    signature: p.signature.name,
    instructions: p.state.instructions,
    demos: p.state.demos
  }))
