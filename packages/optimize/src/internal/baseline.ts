import type { Result } from "../Evaluate.js"
import { TooManyErrors } from "../OptimizeError.js"

/**
 * The verdict on the evaluation of the program as given, run with `maxFailuresBeforeSuccess`:
 * a `TooManyErrors` when no run succeeded (the program or the metric cannot succeed, e.g. a
 * metric that always throws), so that the optimizer stops before spending on candidates.
 */
export const cannotSucceed = <I, O>(
  optimizer: string,
  evaluation: Result<I, O>,
  maxErrors: number
): TooManyErrors | undefined => {
  const allFailed = evaluation.rows.length > 0 && evaluation.failed === evaluation.rows.length
  // Examples left unstarted means more than `maxErrors` failed before the first success.
  if (!allFailed && evaluation.notAttempted === 0) return undefined
  const example = evaluation.rows.find((row) => row.error !== undefined)?.error ?? "unknown"
  return new TooManyErrors({
    optimizer,
    errors: evaluation.failed,
    maxErrors: Math.min(maxErrors, evaluation.failed - 1),
    lastError: `the program as given failed ${evaluation.failed} of ${evaluation.rows.length} runs before any succeeded, e.g. ${example}`
  })
}
