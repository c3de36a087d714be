import { Usage } from "@effect-dspy/core"
import * as Effect from "effect/Effect"

/** The usage of every LM call made so far in a run, readable while the run goes on. */
export interface Meter {
  readonly usage: () => Usage.Usage
}

/**
 * Runs `body` with a meter of every LM call it makes (task model, proposer, reflection model
 * and LM-judge metrics alike, through core's `Usage.observe`), starting from `initial` (the
 * usage a resumed run had already spent).
 */
export const metered = <A, E, R>(
  initial: Usage.Usage,
  body: (meter: Meter) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Effect.suspend(() => {
    let total = initial
    const meter: Meter = { usage: () => total }
    return body(meter).pipe(Usage.observe((usage) => {
      total = Usage.add(total, usage)
    }))
  })
