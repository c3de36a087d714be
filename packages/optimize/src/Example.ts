/**
 * Labelled examples: the inputs of a program and the outputs expected of it (its labels).
 *
 * DSPy keeps one record of fields and marks which are inputs (`with_inputs`); here an example
 * holds the two parts apart, and `withInputs` splits a flat record the DSPy way.
 *
 * @since 0.1.0
 */
import type { Module } from "@effect-dspy/core"

/**
 * One labelled example. `expected` may name only the outputs a metric looks at.
 *
 * @since 0.1.0
 */
export interface Example<I, O> {
  readonly input: I
  readonly expected: Partial<O>
}

/**
 * An example for module `M`.
 *
 * @since 0.1.0
 */
export type For<M> = Example<Module.Input<M>, Module.Output<M>>

/**
 * Makes an example from its inputs and its labels.
 *
 * @since 0.1.0
 */
export const make = <I, O>(input: I, expected: Partial<O>): Example<I, O> => ({ input, expected })

/**
 * Splits a flat record of fields into an example: the named keys are its inputs, every other
 * field is a label (DSPy's `Example(...).with_inputs(...)`).
 *
 * @since 0.2.0
 * @example
 * ```ts
 * import { Example } from "@effect-dspy/optimize"
 * const example = Example.withInputs({ question: "Capital of France?", answer: "Paris" }, "question")
 * // example.input: { question: string }, example.expected: { answer?: string }
 * ```
 */
export const withInputs = <const F extends Readonly<Record<string, unknown>>, K extends keyof F & string>(
  fields: F,
  ...keys: readonly [K, ...Array<K>]
): Example<{ readonly [P in K]: F[P] }, { readonly [P in Exclude<keyof F, K>]: F[P] }> => {
  const inputKeys = new Set<string>(keys)
  const input: Record<string, unknown> = {}
  const expected: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(fields)) {
    if (inputKeys.has(key)) input[key] = value
    else expected[key] = value
  }
  // The two records hold exactly the keys their types name, split by `keys`.
  return { input, expected } as Example<{ readonly [P in K]: F[P] }, { readonly [P in Exclude<keyof F, K>]: F[P] }>
}

/**
 * The inputs of an example (DSPy's `example.inputs()`).
 *
 * @since 0.2.0
 */
export const inputs = <I, O>(example: Example<I, O>): I => example.input

/**
 * The labels of an example: the fields that are not inputs (DSPy's `example.labels()`).
 *
 * @since 0.2.0
 */
export const labels = <I, O>(example: Example<I, O>): Partial<O> => example.expected

/**
 * Every field of an example in one record, inputs first.
 *
 * @since 0.2.0
 */
export const fields = <I, O>(example: Example<I, O>): Readonly<Record<string, unknown>> => ({
  ...(typeof example.input === "object" && example.input !== null ? example.input : {}),
  ...(typeof example.expected === "object" && example.expected !== null ? example.expected : {})
})
