/**
 * The typed errors of `@effect-dspy/optimize`. Each says what to change.
 *
 * @since 0.2.0
 */
import * as Schema from "effect/Schema"

/**
 * Options or data an optimizer cannot run with (an empty train set, a minibatch larger than
 * the validation set, conflicting budget settings). Raised before any LM call.
 *
 * @since 0.2.0
 */
export class InvalidOptions extends Schema.TaggedError<InvalidOptions>("@effect-dspy/optimize/InvalidOptions")(
  "InvalidOptions",
  { optimizer: Schema.String, reason: Schema.String }
) {
  override get message(): string {
    return `${this.optimizer}: ${this.reason}`
  }
}

/**
 * More program or metric calls failed than `maxErrors` allows: the run stops rather than keep
 * spending on a program that cannot succeed. `lastError` describes the latest failure.
 *
 * @since 0.2.0
 */
export class TooManyErrors extends Schema.TaggedError<TooManyErrors>("@effect-dspy/optimize/TooManyErrors")(
  "TooManyErrors",
  { optimizer: Schema.String, errors: Schema.Number, maxErrors: Schema.Number, lastError: Schema.String }
) {
  override get message(): string {
    return `${this.optimizer}: ${this.errors} failed calls (more than maxErrors = ${this.maxErrors}); the last: ${this.lastError}`
  }
}

/**
 * An example lacks what a built-in metric compares against: no expected value for the field, an
 * empty list of gold answers, or (for `numericTolerance`) an expected value that is not a number.
 * Scoring such an example 0 would hide a data mistake and let an optimizer spend its budget on
 * scores that cannot rise, so the metric fails instead (as DSPy's raise) and the evaluation
 * records the row as failed with this message.
 *
 * @since 0.2.0
 */
export class InvalidLabel extends Schema.TaggedError<InvalidLabel>("@effect-dspy/optimize/InvalidLabel")(
  "InvalidLabel",
  { metric: Schema.String, field: Schema.String, reason: Schema.String }
) {
  override get message(): string {
    return `Metric.${this.metric}("${this.field}"): ${this.reason}`
  }
}

/**
 * A checkpoint could not be read or written.
 *
 * @since 0.2.0
 */
export class CheckpointError extends Schema.TaggedError<CheckpointError>("@effect-dspy/optimize/CheckpointError")(
  "CheckpointError",
  { location: Schema.String, reason: Schema.String }
) {
  override get message(): string {
    return `checkpoint ${this.location}: ${this.reason}`
  }
}

/**
 * A checkpoint belongs to another run (another optimizer, other options, data or program):
 * resuming from it would mix two runs. Delete it or point the run at a fresh one.
 *
 * @since 0.2.0
 */
export class CheckpointMismatch extends Schema.TaggedError<CheckpointMismatch>("@effect-dspy/optimize/CheckpointMismatch")(
  "CheckpointMismatch",
  { location: Schema.String, reason: Schema.String }
) {
  override get message(): string {
    return `checkpoint ${this.location} is not from this run: ${this.reason}`
  }
}
