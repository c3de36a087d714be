/**
 * The typed errors of `@effect-dspy/core`. Each carries what a user needs to fix the cause.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * A signature declaration is malformed (bad shorthand, duplicate or reserved field names).
 * Raised when the signature is defined, before any program runs.
 *
 * @example
 * ```ts
 * import { Signature } from "@effect-dspy/core"
 * Signature.decodeString("question answer") // Left(InvalidSignature)
 * ```
 *
 * @since 0.1.0
 */
export class InvalidSignature extends Schema.TaggedError<InvalidSignature>("@effect-dspy/core/InvalidSignature")(
  "InvalidSignature",
  { signature: Schema.String, reason: Schema.String }
) {
  override get message(): string {
    return `invalid signature "${this.signature}": ${this.reason}`
  }
}

/**
 * Inputs given to a module do not satisfy its signature. Raised before any LM call.
 * `field` names the first offending input field.
 *
 * @since 0.1.0
 */
export class InvalidInput extends Schema.TaggedError<InvalidInput>("@effect-dspy/core/InvalidInput")(
  "InvalidInput",
  {
    signature: Schema.String,
    field: Schema.String,
    issue: Schema.String
  }
) {
  override get message(): string {
    return `invalid input for ${this.signature}, field "${this.field}": ${this.issue}`
  }
}

/**
 * The model's reply could not be parsed or did not decode against the signature's outputs,
 * after every allowed re-ask. Carries the raw reply text and the issue.
 *
 * @since 0.1.0
 */
export class OutputParseError extends Schema.TaggedError<OutputParseError>("@effect-dspy/core/OutputParseError")(
  "OutputParseError",
  {
    signature: Schema.String,
    adapter: Schema.String,
    raw: Schema.String,
    field: Schema.optional(Schema.String),
    issue: Schema.String,
    attempts: Schema.Number
  }
) {
  override get message(): string {
    const where = this.field === undefined ? "" : ` (field "${this.field}")`
    return `${this.adapter} could not read the reply for ${this.signature}${where} after ${this.attempts} attempt(s): ${this.issue}`
  }
}

/**
 * Saved program state does not fit the program it is loaded into.
 *
 * @since 0.1.0
 */
export class InvalidState extends Schema.TaggedError<InvalidState>("@effect-dspy/core/InvalidState")(
  "InvalidState",
  { reason: Schema.String }
) {
  override get message(): string {
    return `invalid program state: ${this.reason}`
  }
}

/**
 * A tool called by ReAct failed. ReAct feeds this back to the model as an observation.
 *
 * @since 0.1.0
 */
export class ToolError extends Schema.TaggedError<ToolError>("@effect-dspy/core/ToolError")(
  "ToolError",
  { tool: Schema.String, reason: Schema.String }
) {
  override get message(): string {
    return `tool "${this.tool}" failed: ${this.reason}`
  }
}

/**
 * ReAct used every iteration without the model choosing to finish.
 * Carries the trajectory and, when the extraction step could still produce one, a partial answer.
 *
 * @since 0.1.0
 */
export class MaxIterationsReached
  extends Schema.TaggedError<MaxIterationsReached>("@effect-dspy/core/MaxIterationsReached")(
    "MaxIterationsReached",
    {
      module: Schema.String,
      maxIterations: Schema.Number,
      trajectory: Schema.Array(Schema.Struct({
        thought: Schema.String,
        toolName: Schema.String,
        toolArgs: Schema.Unknown,
        observation: Schema.String
      })),
      partial: Schema.optional(Schema.Unknown)
    }
  )
{
  override get message(): string {
    return `${this.module} reached its limit of ${this.maxIterations} iterations without finishing`
  }
}

/**
 * BestOfN / Refine: no attempt reached the reward threshold and failures are not tolerated,
 * or every attempt failed.
 *
 * @since 0.1.0
 */
export class NoAcceptableAttempt
  extends Schema.TaggedError<NoAcceptableAttempt>("@effect-dspy/core/NoAcceptableAttempt")(
    "NoAcceptableAttempt",
    { module: Schema.String, attempts: Schema.Number, reason: Schema.String }
  )
{
  override get message(): string {
    return `${this.module}: no acceptable attempt out of ${this.attempts}: ${this.reason}`
  }
}

/**
 * An embedding function gave vectors that cannot be compared: not one per text, of different
 * lengths, or with values that are not finite numbers (KNN).
 *
 * @since 0.2.0
 */
export class InvalidEmbedding extends Schema.TaggedError<InvalidEmbedding>("@effect-dspy/core/InvalidEmbedding")(
  "InvalidEmbedding",
  { module: Schema.String, reason: Schema.String }
) {
  override get message(): string {
    return `${this.module}: the embedding function's vectors cannot be compared: ${this.reason}`
  }
}

/**
 * ProgramOfThought wrote `attempts` programs and none ran: the last program and every error,
 * oldest first.
 *
 * @since 0.2.0
 */
export class ProgramFailed extends Schema.TaggedError<ProgramFailed>("@effect-dspy/core/ProgramFailed")(
  "ProgramFailed",
  {
    module: Schema.String,
    attempts: Schema.Number,
    code: Schema.String,
    errors: Schema.Array(Schema.String)
  }
) {
  override get message(): string {
    return `${this.module}: none of ${this.attempts} program(s) ran; the last failed with ${this.errors.at(-1) ?? "no error"}`
  }
}

/**
 * Saved state was made for a predictor with other fields than the one at its path in the
 * program it is loaded into: the fields each side lacks.
 *
 * @since 0.2.0
 */
export class StateMismatch extends Schema.TaggedError<StateMismatch>("@effect-dspy/core/StateMismatch")(
  "StateMismatch",
  {
    predictor: Schema.String,
    /** Fields the program's predictor has and the saved state does not. */
    missingInputs: Schema.Array(Schema.String),
    missingOutputs: Schema.Array(Schema.String),
    /** Fields the saved state has and the program's predictor does not. */
    extraInputs: Schema.Array(Schema.String),
    extraOutputs: Schema.Array(Schema.String)
  }
) {
  override get message(): string {
    const parts: Array<string> = []
    const list = (names: ReadonlyArray<string>) => names.map((n) => `"${n}"`).join(", ")
    if (this.missingInputs.length > 0) parts.push(`the state lacks the input(s) ${list(this.missingInputs)}`)
    if (this.extraInputs.length > 0) parts.push(`the program lacks the input(s) ${list(this.extraInputs)}`)
    if (this.missingOutputs.length > 0) parts.push(`the state lacks the output(s) ${list(this.missingOutputs)}`)
    if (this.extraOutputs.length > 0) parts.push(`the program lacks the output(s) ${list(this.extraOutputs)}`)
    return `the state of predictor "${this.predictor}" was saved for other fields: ${parts.join("; ")}`
  }
}
