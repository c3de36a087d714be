/**
 * How a command ends when it does not succeed: a message for stderr and an exit code (1 the run
 * failed or stopped, 2 a mistake to fix before anything runs, 3 a run the model cannot serve).
 * Every command of `effect-dspy`, local or on a cluster, ends its errors here.
 *
 * @since 0.2.0
 */
import { Redaction } from "@effect-dspy/core"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

/**
 * A command's failure: the message printed on stderr and the process's exit code.
 *
 * @since 0.2.0
 */
export class CliFailure extends Schema.TaggedError<CliFailure>("@effect-dspy/cli/CliFailure")("CliFailure", {
  reason: Schema.String,
  code: Schema.Number
}) {
  override get message(): string {
    return this.reason
  }
}

/** The errors a user fixes before anything runs (a model id, a key, an input, a database URL): exit 2. */
const setupTags: ReadonlySet<string> = new Set([
  "InvalidModelId",
  "MissingConfiguration",
  "InputError",
  "CheckpointError",
  "ProgramError",
  "CacheError",
  "ServeError",
  "DatabaseUnavailable",
  "DistributedBatchError",
  "BatchMismatch",
  "BatchBusy",
  "UnknownBatch",
  "SocketServerError"
])

const messageOf = (error: unknown): string =>
  Predicate.hasProperty(error, "message") && typeof error.message === "string" ? error.message : String(error)

/** The error's message, with its cause's when it has one (a socket's "Open" says little alone), credentials hidden. */
const reasonOf = (error: unknown): string => {
  const message = messageOf(error)
  const cause = Predicate.hasProperty(error, "cause") && error.cause !== undefined ? messageOf(error.cause) : ""
  return Redaction.text(cause === "" || message.includes(cause) ? message : `${message}: ${cause}`)
}

/**
 * Any error of a command as a `CliFailure`: a setup error or a malformed environment variable
 * (a `ConfigError`) exits 2, anything else 1 (a full disk among them: the output file is consistent).
 *
 * @since 0.2.0
 */
export const fromError = (error: unknown): CliFailure => {
  if (error instanceof CliFailure) return error
  if (Predicate.hasProperty(error, "_tag") && typeof error._tag === "string" && setupTags.has(error._tag)) {
    return new CliFailure({ reason: reasonOf(error), code: 2 })
  }
  // a ConfigError has `_op`
  if (Predicate.hasProperty(error, "_op")) return new CliFailure({ reason: `bad configuration: ${reasonOf(error)}`, code: 2 })
  return new CliFailure({ reason: reasonOf(error), code: 1 })
}
