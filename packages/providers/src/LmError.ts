/**
 * Classified language-model call failures.
 *
 * Every provider fails with `@effect/ai`'s `AiError`; `classify` turns any of them
 * into one of the tagged errors below, which say what happened and whether a retry
 * can help. The resilient `LanguageModel` built by `Resilience` reports its final
 * failure as an `AiError.UnknownError` whose `cause` is the classified error, so
 * `classify` recovers it exactly.
 *
 * @since 0.1.0
 */
import * as AiError from "@effect/ai/AiError"
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"

const common = {
  /** The module that failed, e.g. `OpenAiClient`, `ChatCompletions`. */
  provider: Schema.String,
  /** What happened, with secrets scrubbed. */
  description: Schema.String,
  /** The HTTP status, when there was a response. */
  status: Schema.optional(Schema.Number)
}

const fmt = (tag: string, self: { readonly status?: number | undefined; readonly provider: string; readonly description: string }) =>
  `${tag}${self.status === undefined ? "" : ` (HTTP ${self.status})`} from ${self.provider}: ${self.description}`

/**
 * The server refused the call because of a rate limit (HTTP 429); carries the server's
 * requested wait (`retry-after-ms` / `retry-after`) when it sent one.
 *
 * @since 0.1.0
 */
export class RateLimited extends Schema.TaggedError<RateLimited>("@effect-dspy/providers/RateLimited")("RateLimited", {
  ...common,
  retryAfterMillis: Schema.optional(Schema.Number)
}) {
  /** Whether retrying may succeed. */
  get retryable(): boolean {
    return true
  }
  override get message(): string {
    return fmt("RateLimited", this) +
      (this.retryAfterMillis === undefined ? "" : ` (server asks to retry after ${this.retryAfterMillis} ms)`)
  }
}

/**
 * The server is overloaded or failed (HTTP 5xx, Anthropic's 529).
 *
 * @since 0.1.0
 */
export class Overloaded extends Schema.TaggedError<Overloaded>("@effect-dspy/providers/Overloaded")("Overloaded", {
  ...common,
  retryAfterMillis: Schema.optional(Schema.Number)
}) {
  /** Whether retrying may succeed. */
  get retryable(): boolean {
    return true
  }
  override get message(): string {
    return fmt("Overloaded", this)
  }
}

/**
 * The call (one attempt) took longer than the configured timeout, or the server said 408.
 *
 * @since 0.1.0
 */
export class Timeout extends Schema.TaggedError<Timeout>("@effect-dspy/providers/Timeout")("Timeout", {
  ...common,
  afterMillis: Schema.optional(Schema.Number)
}) {
  /** Whether retrying may succeed. */
  get retryable(): boolean {
    return true
  }
  override get message(): string {
    return fmt("Timeout", this)
  }
}

/**
 * The connection failed or was reset before the response was complete.
 *
 * @since 0.1.0
 */
export class ConnectionReset extends Schema.TaggedError<ConnectionReset>("@effect-dspy/providers/ConnectionReset")(
  "ConnectionReset",
  common
) {
  /** Whether retrying may succeed. */
  get retryable(): boolean {
    return true
  }
  override get message(): string {
    return fmt("ConnectionReset", this)
  }
}

/**
 * The prompt (plus requested output) does not fit the model's context window.
 *
 * @since 0.1.0
 */
export class ContextLengthExceeded
  extends Schema.TaggedError<ContextLengthExceeded>("@effect-dspy/providers/ContextLengthExceeded")(
    "ContextLengthExceeded",
    common
  )
{
  /** Whether retrying may succeed. */
  get retryable(): boolean {
    return false
  }
  override get message(): string {
    return fmt("ContextLengthExceeded", this)
  }
}

/**
 * The API key is missing, wrong or lacks permission (HTTP 401/403).
 *
 * @since 0.1.0
 */
export class Authentication extends Schema.TaggedError<Authentication>("@effect-dspy/providers/Authentication")(
  "Authentication",
  common
) {
  /** Whether retrying may succeed. */
  get retryable(): boolean {
    return false
  }
  override get message(): string {
    return fmt("Authentication", this)
  }
}

/**
 * The request was rejected as invalid (other 4xx), or could not be built.
 *
 * @since 0.1.0
 */
export class BadRequest extends Schema.TaggedError<BadRequest>("@effect-dspy/providers/BadRequest")("BadRequest", common) {
  /** Whether retrying may succeed. */
  get retryable(): boolean {
    return false
  }
  override get message(): string {
    return fmt("BadRequest", this)
  }
}

/**
 * The response could not be understood. Retryable when it came from the wire
 * (garbled JSON, broken stream framing), not when a well-formed reply failed the
 * caller's schema.
 *
 * @since 0.1.0
 */
export class MalformedResponse extends Schema.TaggedError<MalformedResponse>("@effect-dspy/providers/MalformedResponse")(
  "MalformedResponse",
  { ...common, fromWire: Schema.Boolean }
) {
  /** Whether retrying may succeed. */
  get retryable(): boolean {
    return this.fromWire
  }
  override get message(): string {
    return fmt("MalformedResponse", this)
  }
}

/**
 * A streamed call failed after tokens were delivered; carries the text received so
 * far. Never retried (the consumer already saw part of the answer).
 *
 * @since 0.1.0
 */
export class StreamFailed extends Schema.TaggedError<StreamFailed>("@effect-dspy/providers/StreamFailed")("StreamFailed", {
  ...common,
  /** The text (text deltas) received before the failure. */
  partialText: Schema.String,
  /** The tag of the underlying classified failure, e.g. `ConnectionReset`. */
  reason: Schema.String
}) {
  /** Whether retrying may succeed. */
  get retryable(): boolean {
    return false
  }
  override get message(): string {
    return `StreamFailed from ${this.provider} after ${this.partialText.length} characters (${this.reason}): ${this.description}`
  }
}

/**
 * Anything else.
 *
 * @since 0.1.0
 */
export class UnknownFailure extends Schema.TaggedError<UnknownFailure>("@effect-dspy/providers/UnknownFailure")(
  "UnknownFailure",
  common
) {
  /** Whether retrying may succeed. */
  get retryable(): boolean {
    return false
  }
  override get message(): string {
    return fmt("UnknownFailure", this)
  }
}

/**
 * A classified language-model failure.
 *
 * @since 0.1.0
 */
export type LmError =
  | RateLimited
  | Overloaded
  | Timeout
  | ConnectionReset
  | ContextLengthExceeded
  | Authentication
  | BadRequest
  | MalformedResponse
  | StreamFailed
  | UnknownFailure

/**
 * Schema of the classified failures (e.g. to persist them in a checkpoint).
 *
 * @since 0.1.0
 */
export const LmError = Schema.Union(
  RateLimited,
  Overloaded,
  Timeout,
  ConnectionReset,
  ContextLengthExceeded,
  Authentication,
  BadRequest,
  MalformedResponse,
  StreamFailed,
  UnknownFailure
)

const lmErrorTags: ReadonlySet<string> = new Set([
  "RateLimited",
  "Overloaded",
  "Timeout",
  "ConnectionReset",
  "ContextLengthExceeded",
  "Authentication",
  "BadRequest",
  "MalformedResponse",
  "StreamFailed",
  "UnknownFailure"
])

const lmErrorClasses = [
  RateLimited,
  Overloaded,
  Timeout,
  ConnectionReset,
  ContextLengthExceeded,
  Authentication,
  BadRequest,
  MalformedResponse,
  StreamFailed,
  UnknownFailure
] as const

/**
 * Whether a value is a classified `LmError`.
 *
 * @since 0.1.0
 */
export const isLmError = (u: unknown): u is LmError =>
  lmErrorClasses.some((C) => u instanceof C) ||
  (Predicate.hasProperty(u, "_tag") && typeof u._tag === "string" && lmErrorTags.has(u._tag) &&
    Predicate.hasProperty(u, "provider") && Predicate.hasProperty(u, "description"))

/**
 * Whether a classified failure is worth retrying.
 *
 * @since 0.1.0
 */
export const isRetryable = (error: LmError): boolean => error.retryable

// =============================================================================
// Secrets
// =============================================================================

// Things that look like provider API keys are masked even when we were not told
// about them (a server may echo a key we never saw, e.g. another provider's).
const keyLike = /\b(?:sk|pk|rk)-[A-Za-z0-9_-]{8,}|\bBearer\s+[A-Za-z0-9._~+/-]{8,}=*/g

/**
 * Removes secret values (and anything that looks like an API key) from a text.
 *
 * @since 0.1.0
 */
export const scrub = (text: string, secrets: ReadonlyArray<Redacted.Redacted> = []): string => {
  let out = text
  for (const secret of secrets) {
    const value = Redacted.value(secret)
    if (typeof value === "string" && value.length >= 4) {
      out = out.split(value).join("<redacted>")
    }
  }
  return out.replace(keyLike, "<redacted>")
}

// =============================================================================
// Classification
// =============================================================================

/**
 * Options for `classify`.
 *
 * @since 0.1.0
 */
export interface ClassifyOptions {
  /** Secret values to scrub from descriptions. */
  readonly secrets?: ReadonlyArray<Redacted.Redacted> | undefined
  /** The current time in epoch milliseconds, to read an HTTP-date `Retry-After`. */
  readonly nowMillis?: number | undefined
}

/**
 * Reads the server's requested wait from response headers (`retry-after-ms`, then
 * `retry-after` in seconds or as an HTTP date), in milliseconds.
 *
 * @since 0.1.0
 */
export const retryAfterMillis = (
  headers: Readonly<Record<string, string | undefined>>,
  nowMillis: number = Date.now()
): number | undefined => {
  const ms = headers["retry-after-ms"]
  if (ms !== undefined) {
    const n = Number(ms)
    if (Number.isFinite(n) && n >= 0) return n
  }
  const s = headers["retry-after"]
  if (s !== undefined) {
    const n = Number(s)
    if (s.trim() !== "" && Number.isFinite(n) && n >= 0) return n * 1000
    const date = Date.parse(s)
    if (!Number.isNaN(date)) return Math.max(0, date - nowMillis)
  }
  return undefined
}

const contextLengthPattern =
  /context[_ ]length|context window|maximum context|too many tokens|prompt is too long|input is too long|exceeds the (?:model'?s? )?(?:maximum|max)|reduce the length/i

const timeoutPattern = /timed? ?out|timeout|ETIMEDOUT|UND_ERR_(?:CONNECT|HEADERS|BODY)_TIMEOUT/i

// Extracts the human message of a provider's JSON error body, else the raw text.
const bodyMessage = (body: string | undefined): string | undefined => {
  if (body === undefined || body === "" || body === "undefined") return undefined
  try {
    const json: unknown = JSON.parse(body)
    if (Predicate.hasProperty(json, "error")) {
      const e = json.error
      if (typeof e === "string") return e
      if (Predicate.hasProperty(e, "message") && typeof e.message === "string") return e.message
    }
    if (Predicate.hasProperty(json, "message") && typeof json.message === "string") return json.message
  } catch {
    // not JSON: use the text
  }
  return body.length > 500 ? `${body.slice(0, 500)}…` : body
}

// Walks an error's `cause` chain and collects codes / messages (for transport errors).
const causeText = (u: unknown): string => {
  const parts: Array<string> = []
  let current: unknown = u
  for (let depth = 0; depth < 6 && current !== undefined && current !== null; depth++) {
    if (Predicate.hasProperty(current, "code") && typeof current.code === "string") parts.push(current.code)
    if (Predicate.hasProperty(current, "name") && typeof current.name === "string") parts.push(current.name)
    if (current instanceof Error) parts.push(current.message)
    else if (Predicate.hasProperty(current, "description") && typeof current.description === "string") {
      parts.push(current.description)
    }
    current = Predicate.hasProperty(current, "cause") ? current.cause : undefined
  }
  return parts.join(": ")
}

const isResetText = (text: string) =>
  /ECONNRESET|ECONNREFUSED|EPIPE|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|socket|terminated|other side closed|closed|aborted|premature|fetch failed|UND_ERR/i
    .test(text)

/**
 * Classifies any failure of a language-model call. Already classified errors (or an
 * `AiError.UnknownError` wrapping one) are returned as they are.
 *
 * @since 0.1.0
 */
export const classify = (error: unknown, options: ClassifyOptions = {}): LmError => {
  const secrets = options.secrets ?? []
  const clean = (s: string) => scrub(s, secrets)
  if (isLmError(error)) return error
  if (!AiError.isAiError(error)) {
    if (Predicate.hasProperty(error, "_tag") && error._tag === "TimeoutException") {
      return new Timeout({ provider: "unknown", description: "the call timed out" })
    }
    return new UnknownFailure({ provider: "unknown", description: clean(causeText(error) || String(error)) })
  }
  switch (error._tag) {
    case "UnknownError": {
      if (isLmError(error.cause)) return error.cause
      return new UnknownFailure({
        provider: error.module,
        description: clean(error.description ?? causeText(error.cause) ?? "an error occurred")
      })
    }
    case "MalformedInput":
      return new BadRequest({ provider: error.module, description: clean(error.description ?? "malformed input") })
    case "MalformedOutput":
      return new MalformedResponse({
        provider: error.module,
        // Output that the framework itself rejected (a well-formed reply that fails
        // the caller's schema) is not a transport problem: retrying the same prompt
        // is the caller's decision, not the transport policy's.
        fromWire: error.module !== "LanguageModel",
        description: clean(error.description ?? causeText(error.cause) ?? "malformed output")
      })
    case "HttpRequestError": {
      const text = `${error.description ?? ""} ${causeText(error.cause)}`.trim()
      const where = `${error.request.method} ${error.request.url}`
      if (error.reason !== "Transport") {
        return new BadRequest({ provider: error.module, description: clean(`${error.reason}: ${text} (${where})`) })
      }
      if (timeoutPattern.test(text)) {
        return new Timeout({ provider: error.module, description: clean(`${text} (${where})`) })
      }
      return new ConnectionReset({ provider: error.module, description: clean(`${text || "transport error"} (${where})`) })
    }
    case "HttpResponseError": {
      const status = error.response.status
      const where = `${error.request.method} ${error.request.url}`
      const detail = bodyMessage(error.body) ?? error.description ?? ""
      const description = clean(`${detail}${detail === "" ? "" : " "}(${where})`)
      const base = { provider: error.module, description }
      if (error.reason !== "StatusCode") {
        // The status was fine but the body could not be read or decoded: a reset
        // connection mid-body looks like this too.
        const text = `${error.description ?? ""} ${detail}`
        if (isResetText(text)) return new ConnectionReset({ ...base, status })
        return new MalformedResponse({ ...base, status, fromWire: true })
      }
      const headers = error.response.headers
      if (status === 429) {
        const retryAfter = retryAfterMillis(headers, options.nowMillis)
        return new RateLimited({ ...base, status, ...(retryAfter === undefined ? {} : { retryAfterMillis: retryAfter }) })
      }
      if (status === 408) return new Timeout({ ...base, status })
      if (status === 401 || status === 403) return new Authentication({ ...base, status })
      if (status === 413 || ((status === 400 || status === 422) && contextLengthPattern.test(detail))) {
        return new ContextLengthExceeded({ ...base, status })
      }
      if (status >= 500) {
        const retryAfter = retryAfterMillis(headers, options.nowMillis)
        return new Overloaded({ ...base, status, ...(retryAfter === undefined ? {} : { retryAfterMillis: retryAfter }) })
      }
      return new BadRequest({ ...base, status })
    }
  }
}

/**
 * Wraps a classified failure in the `AiError` channel that `LanguageModel` speaks.
 *
 * @since 0.1.0
 */
export const toAiError = (error: LmError, method: string): AiError.UnknownError =>
  new AiError.UnknownError({ module: error.provider, method, description: error.message, cause: error })

/**
 * Replaces every `AiError` in an effect's error channel by its classification.
 *
 * @example
 * ```ts
 * import { LanguageModel } from "@effect/ai"
 * import { LmError } from "@effect-dspy/providers"
 * import { Effect } from "effect"
 *
 * const retryAfter = LanguageModel.generateText({ prompt: "hi" }).pipe(
 *   LmError.classified,
 *   Effect.catchTag("RateLimited", (e) => Effect.succeed(e.retryAfterMillis))
 * )
 * ```
 *
 * @since 0.1.0
 */
export const classified = <A, E, R>(
  self: Effect.Effect<A, E, R>
): Effect.Effect<A, Exclude<E, AiError.AiError> | LmError, R> =>
  Effect.mapError(self, (e) => (AiError.isAiError(e) ? classify(e) : (e as Exclude<E, AiError.AiError>)))

/**
 * Replaces every `AiError` in a stream's error channel by its classification.
 *
 * @since 0.1.0
 */
export const classifiedStream = <A, E, R>(
  self: Stream.Stream<A, E, R>
): Stream.Stream<A, Exclude<E, AiError.AiError> | LmError, R> =>
  Stream.mapError(self, (e) => (AiError.isAiError(e) ? classify(e) : (e as Exclude<E, AiError.AiError>)))
