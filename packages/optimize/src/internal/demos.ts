import { Demo, type Module, type Signature } from "@effect-dspy/core"
import * as Either from "effect/Either"

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
