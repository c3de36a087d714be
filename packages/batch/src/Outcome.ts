/**
 * What happened to one item of a batch: a success with its output and usage, or a typed
 * failure (after every retry) with the kind of error. Outcomes are tagged with their input's
 * id and position, because they arrive in completion order, not input order.
 *
 * @since 0.1.0
 */
import * as AiError from "@effect/ai/AiError"
import * as Redaction from "@effect-dspy/core/Redaction"
import * as LmError from "@effect-dspy/providers/LmError"
import * as Cause from "effect/Cause"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import type * as Usage from "@effect-dspy/core/Usage"

/**
 * Why an item failed: a kind and a message (credentials in it hidden: see `errorOf`).
 *
 * Kinds: a provider error's class (`RateLimited`, `Overloaded`, `Timeout`, `ConnectionReset`,
 * `BadRequest`, …), the module's error tag (`InvalidInput`, `OutputParseError`, …), and for
 * input lines that could not be read `MalformedLine` (not UTF-8, not JSON, not an object, an
 * unclosed quote), `MissingColumn`, `ExtraColumn`, `InvalidId` and `DuplicateId`.
 *
 * @since 0.1.0
 */
export interface ItemError {
  readonly kind: string
  readonly message: string
  /** The HTTP status of the provider's answer, when there was one. */
  readonly status?: number | undefined
}

/**
 * Where an item came from.
 *
 * @since 0.1.0
 */
export interface Origin {
  /** Stable identity used for resume: the input's `id` field, or its line number. */
  readonly id: string
  /** 0-based position of the item in the input. */
  readonly index: number
  /** 1-based line of the item in its input file, when it came from one. */
  readonly line: number | undefined
}

/**
 * The item's module call succeeded.
 *
 * @since 0.1.0
 */
export interface Success<I, O> extends Origin {
  readonly _tag: "Success"
  readonly input: I
  readonly output: O
  /** Usage of the model calls this item made (zero when served from the cache or a duplicate). */
  readonly usage: Usage.Usage
  readonly latencyMillis: number
  /** Set when no model call was made: `memory` for a duplicate in this run, `disk` for the persistent cache. */
  readonly cached: "memory" | "disk" | undefined
}

/**
 * The item failed after every retry, or its input was unreadable.
 *
 * @since 0.1.0
 */
export interface Failure<I> extends Origin {
  readonly _tag: "Failure"
  /** The input, when it could be read. */
  readonly input: I | undefined
  /** The raw input text when it could not be read (a malformed line). */
  readonly raw: string | undefined
  readonly error: ItemError
  readonly latencyMillis: number
}

/**
 * The outcome of one item.
 *
 * @since 0.1.0
 */
export type Outcome<I, O> = Success<I, O> | Failure<I>

/**
 * True for a success.
 *
 * @since 0.1.0
 */
export const isSuccess = <I, O>(self: Outcome<I, O>): self is Success<I, O> => self._tag === "Success"

/**
 * True for a failure.
 *
 * @since 0.1.0
 */
export const isFailure = <I, O>(self: Outcome<I, O>): self is Failure<I> => self._tag === "Failure"

/**
 * The kind and message of any error a module call can fail with: provider errors are classified
 * (`RateLimited`, `Overloaded`, `Timeout`, `ConnectionReset`, …), tagged errors keep their tag.
 * The message goes through `Redaction.text`: a password in a URL, a key in a query string or an
 * API key never reaches an output line.
 *
 * @since 0.1.0
 */
export const errorOf = (error: unknown): ItemError => {
  if (AiError.isAiError(error) || LmError.isLmError(error)) {
    const classified = LmError.classify(error)
    return {
      kind: classified._tag,
      message: Redaction.text(classified.message),
      ...(classified.status === undefined ? {} : { status: classified.status })
    }
  }
  if (Predicate.hasProperty(error, "_tag") && typeof error._tag === "string") {
    const message = Predicate.hasProperty(error, "message") && typeof error.message === "string" && error.message !== ""
      ? error.message
      : error._tag
    return { kind: error._tag, message: Redaction.text(message) }
  }
  if (error instanceof Error) return { kind: error.name || "Error", message: Redaction.text(error.message) }
  return { kind: "Error", message: Redaction.text(String(error)) }
}

/**
 * The kind and message of a failed call's cause: its failure, or a defect.
 *
 * @since 0.1.0
 */
export const errorOfCause = (cause: Cause.Cause<unknown>): ItemError => {
  const failure = Cause.failureOption(cause)
  if (failure._tag === "Some") return errorOf(failure.value)
  const defect = Cause.dieOption(cause)
  if (defect._tag === "Some") {
    const d = defect.value
    return { kind: "Defect", message: Redaction.text(d instanceof Error ? d.message : String(d)) }
  }
  return { kind: "Interrupted", message: "the call was interrupted" }
}

// =============================================================================
// JSON lines
// =============================================================================

const UsageRecord = Schema.Struct({
  inputTokens: Schema.Number,
  outputTokens: Schema.Number,
  totalTokens: Schema.Number,
  cachedInputTokens: Schema.optional(Schema.Number),
  reasoningTokens: Schema.optional(Schema.Number),
  lmCalls: Schema.Number
})

/**
 * One success line of an output file.
 *
 * @since 0.1.0
 */
export const SuccessRecord = Schema.Struct({
  id: Schema.String,
  index: Schema.Number,
  line: Schema.optional(Schema.Number),
  status: Schema.Literal("success"),
  input: Schema.Unknown,
  output: Schema.Unknown,
  usage: UsageRecord,
  latencyMs: Schema.Number,
  cached: Schema.optional(Schema.Literal("memory", "disk"))
})

/**
 * One failure line of an output file.
 *
 * @since 0.1.0
 */
export const FailureRecord = Schema.Struct({
  id: Schema.String,
  index: Schema.Number,
  line: Schema.optional(Schema.Number),
  status: Schema.Literal("failure"),
  input: Schema.optional(Schema.Unknown),
  raw: Schema.optional(Schema.String),
  error: Schema.Struct({ kind: Schema.String, message: Schema.String, status: Schema.optional(Schema.Number) }),
  latencyMs: Schema.Number
})

/**
 * One line of an output file (the JSON form of an outcome).
 *
 * @since 0.1.0
 */
export const Record = Schema.Union(SuccessRecord, FailureRecord)

/**
 * The JSON form of an outcome.
 *
 * @since 0.1.0
 */
export type Record = typeof Record.Type

/**
 * The JSON form of an outcome. `encodeInput` / `encodeOutput` turn typed values into JSON-safe
 * ones (a signature's Schemas encode them); they default to the values themselves.
 *
 * @since 0.1.0
 */
export const toRecord = <I, O>(
  outcome: Outcome<I, O>,
  encode: {
    readonly input?: ((input: I) => unknown) | undefined
    readonly output?: ((output: O) => unknown) | undefined
  } = {}
): Record => {
  const common = {
    id: outcome.id,
    index: outcome.index,
    ...(outcome.line === undefined ? {} : { line: outcome.line })
  }
  const latencyMs = Math.round(outcome.latencyMillis * 10) / 10
  if (outcome._tag === "Success") {
    const u = outcome.usage
    return {
      ...common,
      status: "success",
      input: encode.input === undefined ? outcome.input : encode.input(outcome.input),
      output: encode.output === undefined ? outcome.output : encode.output(outcome.output),
      usage: {
        inputTokens: u.inputTokens,
        outputTokens: u.outputTokens,
        totalTokens: u.totalTokens,
        cachedInputTokens: u.cachedInputTokens,
        reasoningTokens: u.reasoningTokens,
        lmCalls: u.lmCalls
      },
      latencyMs,
      ...(outcome.cached === undefined ? {} : { cached: outcome.cached })
    }
  }
  return {
    ...common,
    status: "failure",
    ...(outcome.input === undefined
      ? {}
      : { input: encode.input === undefined ? outcome.input : encode.input(outcome.input) }),
    ...(outcome.raw === undefined ? {} : { raw: outcome.raw }),
    error: {
      kind: outcome.error.kind,
      message: outcome.error.message,
      ...(outcome.error.status === undefined ? {} : { status: outcome.error.status })
    },
    latencyMs
  }
}
