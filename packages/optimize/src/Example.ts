/**
 * Labelled examples: the inputs of a program and the outputs expected of it.
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
 * Makes an example.
 *
 * @since 0.1.0
 */
export const make = <I, O>(input: I, expected: Partial<O>): Example<I, O> => ({ input, expected })
