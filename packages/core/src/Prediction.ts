/**
 * What a module call returns: the typed output, the usage of every LM call it made, and the
 * trace of every predictor call (used by optimizers to bootstrap demos).
 *
 * @since 0.1.0
 */
import type * as NearMiss from "./NearMiss.js"
import type * as Usage from "./Usage.js"

/**
 * One predictor call inside a module call.
 *
 * @since 0.1.0
 */
export interface TraceEntry {
  /** Identity of the predictor instance that made the call (see `Module.predictors`). */
  readonly predictorId: symbol
  readonly signature: string
  /** Inputs and outputs in encoded (JSON-safe) form. */
  readonly inputs: Readonly<Record<string, unknown>>
  readonly outputs: Readonly<Record<string, unknown>>
  /** What the adapter forgave in the reply (empty when the model wrote exactly what was asked). */
  readonly nearMisses: ReadonlyArray<NearMiss.NearMiss>
}

/**
 * The result of a module call.
 *
 * @since 0.1.0
 */
export interface Prediction<O> {
  readonly output: O
  readonly usage: Usage.Usage
  readonly trace: ReadonlyArray<TraceEntry>
}
