/**
 * What a browser is told when a turn fails: a kind it can act on and a message written here.
 * Never the upstream's own text: a provider's error can carry its URL (with a password or a key
 * in it), a whole HTML error page from a proxy, or request details. The full error, with
 * credentials hidden (`Redaction`), goes to the server's log for the operator.
 */
import { Redaction } from "@effect-dspy/core"
import * as LmError from "@effect-dspy/providers/LmError"
import * as AiError from "@effect/ai/AiError"
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

/** The kinds of failure a browser may see. */
export const Kind = Schema.Literal(
  "RateLimited",
  "Unavailable",
  "Timeout",
  "ConversationTooLong",
  "Refused",
  "Truncated",
  "UnreadableReply",
  "ModelMisconfigured",
  "ConversationBusy",
  "Internal"
)
export type Kind = typeof Kind.Type

/** The body of an `event: error`: `{"error", "message", "retryable"}`. */
export const ChatError = Schema.Struct({
  error: Kind,
  message: Schema.String,
  /** Whether sending the message again later may work. */
  retryable: Schema.Boolean
})
export type ChatError = typeof ChatError.Type

const messages: Record<Kind, readonly [string, boolean]> = {
  RateLimited: ["the model is receiving too many requests; try again in a moment", true],
  Unavailable: ["the model service is unavailable right now; try again in a moment", true],
  Timeout: ["the model took too long to answer; try again", true],
  ConversationTooLong: ["the conversation is too long for the model; start a new one", false],
  Refused: ["the model declined to answer this message", false],
  Truncated: ["the answer was cut off at the model's length limit", false],
  UnreadableReply: ["the model's answer could not be read; try again", true],
  ModelMisconfigured: ["the server cannot use its model (its key, quota or settings); the operator has been told", false],
  ConversationBusy: ["this conversation is already answering a message", true],
  Internal: ["the answer failed; try again", true]
}

/** The kind of a classified provider failure (the providers' `LmError` tags). */
const kindOfProvider = (tag: string): Kind => {
  switch (tag) {
    case "RateLimited":
      return "RateLimited"
    case "Overloaded":
    case "ConnectionReset":
    case "StreamFailed":
      return "Unavailable"
    case "Timeout":
      return "Timeout"
    case "ContextLengthExceeded":
      return "ConversationTooLong"
    case "Refused":
    case "ContentFiltered":
      return "Refused"
    case "Truncated":
      return "Truncated"
    case "MalformedResponse":
      return "UnreadableReply"
    case "Authentication":
    case "QuotaExceeded":
    case "BadRequest":
      return "ModelMisconfigured"
    default:
      return "Internal"
  }
}

const kindOf = (error: unknown): Kind => {
  if (AiError.isAiError(error) || LmError.isLmError(error)) return kindOfProvider(LmError.classify(error)._tag)
  const tag = Predicate.hasProperty(error, "_tag") && typeof error._tag === "string" ? error._tag : undefined
  if (tag === "ConversationBusy") return "ConversationBusy"
  // core's parse failures of the model's reply
  if (tag === "OutputParseError") return "UnreadableReply"
  return "Internal"
}

/** The safe form of a turn's failure. */
export const of = (error: unknown): ChatError => {
  const kind = kindOf(error)
  const [message, retryable] = messages[kind]
  return { error: kind, message, retryable }
}

/** The failure as the operator reads it in the log: the whole text, credentials hidden. */
export const describeForLog = (error: unknown): string => {
  if (AiError.isAiError(error) || LmError.isLmError(error)) return Redaction.text(LmError.classify(error).message)
  const text = Predicate.hasProperty(error, "message") && typeof error.message === "string" ? error.message : String(error)
  return Redaction.text(text)
}

/** Logs a turn's failure for the operator and returns what the browser may see. */
export const report = (error: unknown): Effect.Effect<ChatError> =>
  Effect.as(Effect.logWarning(`chat turn failed: ${describeForLog(error)}`), of(error))
