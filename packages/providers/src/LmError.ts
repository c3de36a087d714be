/**
 * Classified language-model failures: what happened, in the provider's words, and whether a
 * retry can help.
 *
 * Providers fail with `@effect/ai`'s `AiError`; `classify` turns any failure (an HTTP status
 * with its body and headers, a transport error, an error the server sent inside a stream or a
 * 200 body, a reply that stopped for a reason other than its end) into one of the tagged errors
 * below. The model `Lm.layer` builds fails with `AiError.UnknownError` whose `cause` is the
 * classified error (`classify` recovers it), so the `LanguageModel` contract holds.
 *
 * @since 0.1.0
 */
import { Redaction } from "@effect-dspy/core"
import * as AiError from "@effect/ai/AiError"
import * as Effect from "effect/Effect"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { resetMillis } from "./internal/rateLimitReset.js"

const common = {
  /** Who failed, e.g. `openai/gpt-4o-mini` or `ChatCompletions`. */
  provider: Schema.String,
  /** What happened, in the provider's words where it gave some, with secrets hidden. */
  description: Schema.String,
  /** The HTTP status, when there was one. */
  status: Schema.optional(Schema.Number)
}

interface Common {
  readonly _tag: string
  readonly provider: string
  readonly description: string
  readonly status?: number | undefined
  readonly message: string
}

// The one base of every classified error: its message and whether a retry can help.
// (`any[]` is what TypeScript requires of a mixin's constructor.)
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const withBase = <C extends new(...args: Array<any>) => Common>(
  Base: C,
  retryable: (self: InstanceType<C>) => boolean
) =>
  class extends Base {
    /** Whether retrying the same request may succeed. */
    get retryable(): boolean {
      return retryable(this as InstanceType<C>)
    }
    override get message(): string {
      return `${this._tag}${this.status === undefined ? "" : ` (HTTP ${this.status})`} from ${this.provider}: ${this.description}`
    }
  }

/**
 * The server refused the call for a rate limit. `retryAfterMillis` is the longest wait it asked for
 * (`retry-after(-ms)`, `x-ratelimit-reset-*`, `anthropic-ratelimit-*-reset`, OpenRouter's reset,
 * Gemini's `RetryInfo`), from when the reply was classified; `resetAtMillis` is that instant
 * (epoch milliseconds of Effect's `Clock`).
 *
 * @since 0.1.0
 */
export class RateLimited extends withBase(
  Schema.TaggedError<RateLimited>("@effect-dspy/providers/RateLimited")("RateLimited", {
    ...common,
    retryAfterMillis: Schema.optional(Schema.Number),
    resetAtMillis: Schema.optional(Schema.Number)
  }),
  () => true
) {}

/**
 * The account is out of quota or credit (`insufficient_quota`, HTTP 402, billing): waiting does not help.
 *
 * @since 0.2.0
 */
export class QuotaExceeded extends withBase(
  Schema.TaggedError<QuotaExceeded>("@effect-dspy/providers/QuotaExceeded")("QuotaExceeded", common),
  () => false
) {}

/**
 * The server is overloaded or failed (HTTP 5xx, 529, a server error in a stream or a 200 body).
 *
 * @since 0.1.0
 */
export class Overloaded extends withBase(
  Schema.TaggedError<Overloaded>("@effect-dspy/providers/Overloaded")("Overloaded", { ...common, retryAfterMillis: Schema.optional(Schema.Number) }),
  () => true
) {}

/**
 * An attempt took longer than the timeout (a stream: waited that long for its next part), or HTTP 408.
 *
 * @since 0.1.0
 */
export class Timeout extends withBase(
  Schema.TaggedError<Timeout>("@effect-dspy/providers/Timeout")("Timeout", { ...common, afterMillis: Schema.optional(Schema.Number) }),
  () => true
) {}

/**
 * The connection failed, or the reply ended before its protocol's end (`[DONE]`, `message_stop`, …).
 *
 * @since 0.1.0
 */
export class ConnectionReset extends withBase(
  Schema.TaggedError<ConnectionReset>("@effect-dspy/providers/ConnectionReset")("ConnectionReset", common),
  () => true
) {}

/**
 * The prompt (plus the requested output) does not fit the model's context window.
 *
 * @since 0.1.0
 */
export class ContextLengthExceeded extends withBase(
  Schema.TaggedError<ContextLengthExceeded>("@effect-dspy/providers/ContextLengthExceeded")("ContextLengthExceeded", common),
  () => false
) {}

/**
 * The API key is missing, wrong or lacks permission (HTTP 401/403).
 *
 * @since 0.1.0
 */
export class Authentication extends withBase(
  Schema.TaggedError<Authentication>("@effect-dspy/providers/Authentication")("Authentication", common),
  () => false
) {}

/**
 * The request was rejected as invalid (another 4xx), or could not be built.
 *
 * @since 0.1.0
 */
export class BadRequest extends withBase(
  Schema.TaggedError<BadRequest>("@effect-dspy/providers/BadRequest")("BadRequest", common),
  () => false
) {}

/**
 * The reply could not be read: retryable when it came from the wire, not when a well-formed reply
 * failed the caller's schema.
 *
 * @since 0.1.0
 */
export class MalformedResponse extends withBase(
  Schema.TaggedError<MalformedResponse>("@effect-dspy/providers/MalformedResponse")("MalformedResponse", { ...common, fromWire: Schema.Boolean }),
  (self) => self.fromWire
) {}

/**
 * The model declined to answer (a `refusal`, `stop_reason: "refusal"`); `description` holds its words.
 *
 * @since 0.2.0
 */
export class Refused extends withBase(
  Schema.TaggedError<Refused>("@effect-dspy/providers/Refused")("Refused", common),
  () => false
) {}

/**
 * The reply was cut by the output token limit; `partialText` is what the model wrote before it.
 *
 * @since 0.2.0
 */
export class Truncated extends withBase(
  Schema.TaggedError<Truncated>("@effect-dspy/providers/Truncated")("Truncated", { ...common, partialText: Schema.String }),
  () => false
) {}

/**
 * A content filter stopped the prompt or the reply; `description` names the verdict.
 *
 * @since 0.2.0
 */
export class ContentFiltered extends withBase(
  Schema.TaggedError<ContentFiltered>("@effect-dspy/providers/ContentFiltered")("ContentFiltered", { ...common, partialText: Schema.String }),
  () => false
) {}

/**
 * A stream failed retryably after parts reached the consumer: not retried (the consumer saw part of
 * an answer); `partialText` is the text received, `reason` the tag of the failure.
 *
 * @since 0.1.0
 */
export class StreamFailed extends withBase(
  Schema.TaggedError<StreamFailed>("@effect-dspy/providers/StreamFailed")("StreamFailed", { ...common, partialText: Schema.String, reason: Schema.String }),
  () => false
) {}

/**
 * Anything else.
 *
 * @since 0.1.0
 */
export class UnknownFailure extends withBase(
  Schema.TaggedError<UnknownFailure>("@effect-dspy/providers/UnknownFailure")("UnknownFailure", common),
  () => false
) {}

/**
 * The classified failures, as a Schema (e.g. to persist them in a checkpoint).
 *
 * @since 0.1.0
 */
export const LmError = Schema.Union(
  RateLimited, QuotaExceeded, Overloaded, Timeout, ConnectionReset, ContextLengthExceeded, Authentication,
  BadRequest, MalformedResponse, Refused, Truncated, ContentFiltered, StreamFailed, UnknownFailure
)

/**
 * A classified language-model failure.
 *
 * @since 0.1.0
 */
export type LmError = typeof LmError.Type

/**
 * Whether a value is a classified `LmError`.
 *
 * @since 0.1.0
 */
export const isLmError: (u: unknown) => u is LmError = Schema.is(LmError)

/**
 * Options of `classify`.
 *
 * @since 0.1.0
 */
export interface ClassifyOptions {
  /** Secret values to hide from descriptions (credential-like text is always hidden). */
  readonly secrets?: ReadonlyArray<Redacted.Redacted<string>> | undefined
  /** The current time in epoch milliseconds (date-valued reset headers); default `Date.now()`. */
  readonly nowMillis?: number | undefined
  /** Names the provider when the error does not. */
  readonly provider?: string | undefined
}

const contextLengthPattern =
  /context[_ ]length|context window|maximum context|too many tokens|prompt is too long|input is too long|exceeds the (?:model'?s? )?(?:maximum|max)|reduce the length/i

// Out of credit rather than over a rate: by code, or in words outside a 429 (a 429 with "quota"
// in its message, like Gemini's per-minute limit, names a wait and is a rate limit).
const quotaCode = /insufficient_quota|billing_error|insufficient_balance|payment_required/i
const quotaWords = /insufficient (?:quota|balance|credits?)|credit balance|billing/i

const transportTimeoutPattern = /timed? ?out|timeout|ETIMEDOUT|UND_ERR_(?:CONNECT|HEADERS|BODY)_TIMEOUT/i

const errorCodes: ReadonlyArray<readonly [RegExp, number]> = [
  [/^(?:rate_limit(?:_exceeded|_error)?|too_many_requests|RESOURCE_EXHAUSTED)$/i, 429],
  [/^(?:insufficient_quota|billing_error|insufficient_balance|payment_required)$/i, 402],
  [/^(?:authentication_error|invalid_api_key|UNAUTHENTICATED)$/i, 401],
  [/^(?:permission_error|PERMISSION_DENIED)$/i, 403],
  [/^(?:not_found_error|model_not_found|NOT_FOUND)$/i, 404],
  [/^(?:request_too_large)$/i, 413],
  [/^(?:timeout_error|DEADLINE_EXCEEDED)$/i, 408],
  [/^(?:invalid_request_error|invalid_argument|BadRequestError|context_length_exceeded|content_filter)$/i, 400],
  [/^(?:overloaded_error)$/i, 529],
  [/^(?:server_error|api_error|internal_error|INTERNAL|UNAVAILABLE|service_unavailable)$/i, 500]
]

const statusOfCode = (code: unknown): number | undefined => {
  if (typeof code === "number" && Number.isInteger(code) && code >= 400 && code < 600) return code
  if (typeof code !== "string") return undefined
  if (/^[45]\d\d$/.test(code)) return Number(code)
  for (const [pattern, status] of errorCodes) if (pattern.test(code)) return status
  return undefined
}

const str = (u: unknown): string | undefined => (typeof u === "string" && u !== "" ? u : undefined)

// What a provider's error object says: OpenAI (`{error: {message, type, code}}`), Anthropic
// (`{type: "error", error: {type, message}}`), Gemini (`{error: {code, status, message}}`), vLLM
// and Mistral (top-level `message`, FastAPI's `detail`), xAI (`{error: "…"}`), OpenRouter
// (`{error: {code, message, metadata}}`); `status` is what the body's own code implies
// (`rate_limit_error` → 429, `"code": 503` → 503).
interface ErrorBody {
  readonly message: string | undefined
  readonly status: number | undefined
  readonly codes: ReadonlyArray<string>
}

const readErrorBody = (body: unknown): ErrorBody | undefined => {
  if (!Predicate.isRecord(body)) return undefined
  const inner = body.error
  const e: Record<string, unknown> = Predicate.isRecord(inner) ? inner : body
  const detail = body.detail
  const message = str(inner) ?? str(e.message) ?? str(body.message) ?? str(detail) ??
    (Array.isArray(detail)
      ? detail.map((d) => (Predicate.isRecord(d) ? `${str(d.msg) ?? ""} ${JSON.stringify(d.loc ?? "")}` : String(d))).join("; ")
      : undefined)
  const codes = [e.code, e.type, e.status, body.code, body.type].filter((c): c is string | number =>
    typeof c === "string" || typeof c === "number"
  )
  if (message === undefined && codes.length === 0) return undefined
  let status: number | undefined
  for (const code of codes) status ??= statusOfCode(code)
  return { message, status, codes: codes.map(String) }
}

/**
 * Everything known about one failed reply, for `fromReply`. @internal
 *
 * @since 0.2.0
 */
export interface Reply {
  readonly provider: string
  /** The HTTP status; `undefined` for an error inside a stream or a 200 body. */
  readonly status?: number | undefined
  readonly body?: unknown
  readonly headers?: Readonly<Record<string, string | undefined>> | undefined
  readonly nowMillis: number
  readonly scrub: (text: string) => string
  /** Where the request went (method and URL), for the description. */
  readonly where?: string | undefined
}

/**
 * Classifies a failed reply: an HTTP error status, or an error the server reported with a 200
 * or inside a stream (then the body's own code decides).
 *
 * @internal
 *
 * @since 0.2.0
 */
export const fromReply = (reply: Reply): LmError => {
  const parsed = readErrorBody(typeof reply.body === "string" ? parseJson(reply.body) ?? reply.body : reply.body)
  const status = reply.status !== undefined && reply.status >= 400 ? reply.status : parsed?.status
  const raw = parsed?.message ?? (typeof reply.body === "string" ? truncate(reply.body) : undefined)
  const words = reply.scrub(
    [raw ?? (status === undefined ? "the server reported an error" : `HTTP ${status}`), reply.where === undefined ? "" : `(${reply.where})`]
      .filter((s) => s !== "").join(" ")
  )
  const base = { provider: reply.provider, description: words, ...(status === undefined ? {} : { status }) }
  const codes = parsed?.codes.join(" ") ?? ""
  const text = `${codes} ${raw ?? ""}`
  if (status === 402 || quotaCode.test(codes) || (status !== 429 && quotaWords.test(raw ?? ""))) return new QuotaExceeded(base)
  if (/content_filter/i.test(codes)) return new ContentFiltered({ ...base, partialText: "" })
  const wait = resetMillis(reply.headers ?? {}, reply.body, reply.nowMillis)
  const waited = wait === undefined ? {} : { retryAfterMillis: wait }
  if (status === 429) {
    return new RateLimited({ ...base, ...waited, ...(wait === undefined ? {} : { resetAtMillis: reply.nowMillis + wait }) })
  }
  if (status === 408) return new Timeout(base)
  if (status === 401 || status === 403) return new Authentication(base)
  if (status === 413 || contextLengthPattern.test(text)) return new ContextLengthExceeded(base)
  // An error the server reported without a recognisable code is its own failure.
  if (status === undefined || status >= 500) return new Overloaded({ ...base, ...waited })
  return new BadRequest(base)
}

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

const truncate = (text: string): string => (text.length > 500 ? `${text.slice(0, 500)}…` : text)

// The transport's own words: codes and messages along an error's `cause` chain.
const causeText = (u: unknown): string => {
  const parts: Array<string> = []
  let current: unknown = u
  for (let depth = 0; depth < 6 && Predicate.isObject(current); depth++) {
    if (Predicate.hasProperty(current, "code") && typeof current.code === "string") parts.push(current.code)
    // Effect's errors say it in `description` (their `message` adds suggestions for people).
    if (Predicate.hasProperty(current, "description")) {
      if (typeof current.description === "string") parts.push(current.description)
    } else if (current instanceof Error && current.message !== "") parts.push(current.message)
    current = Predicate.hasProperty(current, "cause") ? current.cause : undefined
  }
  return [...new Set(parts)].join(": ")
}

const resetPattern = /ECONNRESET|ECONNREFUSED|EPIPE|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|socket|terminated|other side closed|closed|aborted|premature|fetch failed|UND_ERR/i

/**
 * Whether an `AiError` is the framework's verdict on a well-formed reply (the text failed the
 * caller's `generateObject` schema): the caller's to handle, with the reply's text on its
 * `ParseError`, so it passes through the retry policy unchanged.
 *
 * @since 0.2.0
 */
export const isOutputMismatch = (error: unknown): error is AiError.MalformedOutput =>
  AiError.isAiError(error) && error._tag === "MalformedOutput" && error.module === "LanguageModel"

/**
 * Classifies any failure of a language-model call. Already classified errors (or an
 * `AiError.UnknownError` wrapping one) are returned as they are.
 *
 * @since 0.1.0
 */
export const classify = (error: unknown, options: ClassifyOptions = {}): LmError => {
  if (isLmError(error)) return error
  const scrubber = Redaction.makeScrubber(options.secrets ?? [])
  const scrub = scrubber.apply
  const nowMillis = options.nowMillis ?? Date.now()
  if (!AiError.isAiError(error)) {
    const provider = options.provider ?? "unknown"
    if (Predicate.isTagged(error, "TimeoutException")) return new Timeout({ provider, description: "the call timed out" })
    return new UnknownFailure({ provider, description: scrub(causeText(error) || String(error)) })
  }
  const provider = options.provider ?? error.module
  switch (error._tag) {
    case "UnknownError":
      return isLmError(error.cause)
        ? error.cause
        : new UnknownFailure({ provider, description: scrub(error.description ?? (causeText(error.cause) || "an error occurred")) })
    case "MalformedInput":
      return new BadRequest({ provider, description: scrub(error.description ?? "the request could not be built") })
    case "MalformedOutput": {
      // A body that did not match the expected shape may be a provider's error object sent with
      // a 200 (the parse error holds the body it was given).
      const actual = ParseResult.isParseError(error.cause) ? error.cause.issue.actual : undefined
      if (readErrorBody(actual) !== undefined && Predicate.isRecord(actual) && ("error" in actual || "detail" in actual)) {
        return fromReply({ provider, body: actual, nowMillis, scrub })
      }
      return new MalformedResponse({
        provider,
        fromWire: !isOutputMismatch(error),
        description: scrub(error.description ?? (causeText(error.cause) || "the reply could not be read"))
      })
    }
    case "HttpRequestError": {
      const text = causeText(error) || "transport error"
      const where = `${error.request.method} ${Redaction.url(error.request.url)}`
      if (error.reason !== "Transport") return new BadRequest({ provider, description: scrub(`${error.reason}: ${text} (${where})`) })
      if (transportTimeoutPattern.test(text)) return new Timeout({ provider, description: scrub(`${text} (${where})`) })
      return new ConnectionReset({ provider, description: scrub(`${text} (${where})`) })
    }
    case "HttpResponseError": {
      const where = `${error.request.method} ${Redaction.url(error.request.url)}`
      if (error.reason !== "StatusCode") {
        // The status was fine but the body could not be read: a connection reset mid-body
        // looks like this too.
        const text = `${error.description ?? ""} ${causeText(error)}`.trim() || "the reply could not be read"
        const base = { provider, status: error.response.status, description: scrub(`${text} (${where})`) }
        return resetPattern.test(text) ? new ConnectionReset(base) : new MalformedResponse({ ...base, fromWire: true })
      }
      return fromReply({
        provider,
        status: error.response.status,
        body: error.body,
        headers: error.response.headers,
        nowMillis,
        scrub,
        where
      })
    }
  }
}

/**
 * An `AiError` with secrets hidden in every text it carries (description, body, URL), for
 * providers to apply where the error is made, before any span or log sees it.
 *
 * @internal
 *
 * @since 0.2.0
 */
export const scrubAiError = (error: AiError.AiError, scrub: (text: string) => string): AiError.AiError => {
  const request = (r: AiError.HttpRequestError["request"]) => ({ ...r, url: Redaction.url(r.url) })
  const described = (s: string | undefined) => (s === undefined ? {} : { description: scrub(s) })
  const base = { module: error.module, method: error.method }
  switch (error._tag) {
    case "HttpRequestError":
      return new AiError.HttpRequestError({
        ...base,
        reason: error.reason,
        request: request(error.request),
        description: scrub(causeText(error) || "transport error")
      }, { disableValidation: true })
    case "HttpResponseError":
      return new AiError.HttpResponseError({
        ...base,
        reason: error.reason,
        request: request(error.request),
        response: error.response,
        ...(error.body === undefined ? {} : { body: scrub(error.body) }),
        ...described(error.description)
      }, { disableValidation: true })
    case "MalformedInput":
      return new AiError.MalformedInput({ ...base, ...described(error.description) })
    case "MalformedOutput":
    case "UnknownError": {
      // The cause is kept (a parse error holds the body the caller may read) unless it shows a
      // secret: then only its scrubbed text is.
      const shown = error.cause === undefined ? "" : error.cause instanceof Error ? error.cause.message : String(error.cause)
      const clean = scrub(shown)
      const fields = clean === shown
        ? { ...base, ...described(error.description), cause: error.cause }
        : { ...base, description: scrub(`${error.description ?? "the reply could not be read"}: ${clean}`) }
      return error._tag === "MalformedOutput" ? new AiError.MalformedOutput(fields) : new AiError.UnknownError(fields)
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
 * const program = LanguageModel.generateText({ prompt: "hi" }).pipe(
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
