/**
 * What every optimizer reports besides the program: its trials and their scores, and what the
 * run spent (LM calls and tokens of every model it used, metric calls).
 *
 * @since 0.2.0
 */
import type { Usage } from "@effect-dspy/core"

/**
 * One scored step of a run: a candidate evaluated on some examples.
 *
 * @since 0.2.0
 */
export interface Trial {
  readonly index: number
  /** What was scored: `baseline`, `candidate`, `minibatch`, `full`, `mutation`, `merge`, `bootstrap`. */
  readonly kind: string
  /** Which candidate, in the optimizer's words (e.g. `instruction 2, demos 1`). */
  readonly label: string
  readonly score: number
  /** How many examples the score is over. */
  readonly examples: number
}

/**
 * The part of a report every optimizer fills.
 *
 * @since 0.2.0
 */
export interface Report {
  readonly optimizer: string
  readonly trials: ReadonlyArray<Trial>
  /** The score of the program as given, when the optimizer measured it. */
  readonly baselineScore: number | undefined
  /** The score of the returned program on the same examples, when measured. */
  readonly bestScore: number | undefined
  /** LM calls and tokens of the whole run, over every model it used (resumed runs included). */
  readonly usage: Usage.Usage
  /** Program runs scored by the metric. */
  readonly metricCalls: number
  /** True when the run continued from a checkpoint. */
  readonly resumed: boolean
  /** Why the run stopped before its plan was done, if it did (`"lmCallBudget"`). */
  readonly stoppedEarly: string | undefined
}
