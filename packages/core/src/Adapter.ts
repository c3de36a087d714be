/**
 * An adapter turns a signature, demos and inputs into a `Prompt`, calls the model, and reads
 * the reply back into output values. The adapter in force is chosen through the Effect context.
 *
 * @since 0.1.0
 */
import type * as AiError from "@effect/ai/AiError"
import type * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Prompt from "@effect/ai/Prompt"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Demo from "./Demo.js"
import type * as NearMiss from "./NearMiss.js"
import type * as Signature from "./Signature.js"

/**
 * Everything an adapter needs to build the messages of one call.
 *
 * @since 0.1.0
 */
export interface FormatRequest {
  readonly signature: Signature.Any
  readonly instructions: string
  /** Demos, encoded (JSON-safe). */
  readonly demos: ReadonlyArray<Demo.Encoded>
  /** Inputs, encoded (JSON-safe). */
  readonly inputs: Readonly<Record<string, unknown>>
  /** Earlier replies that could not be read, oldest first, to re-ask with the error. */
  readonly failedReplies: ReadonlyArray<{ readonly reply: string; readonly issue: string }>
}

/**
 * Why a reply could not be read.
 *
 * @since 0.1.0
 */
export interface ParseIssue {
  readonly field: string | undefined
  readonly issue: string
}

/**
 * A reply read into encoded output values (not yet decoded by the output Schema), with the
 * near-misses forgiven on the way.
 *
 * @since 0.2.0
 */
export interface Parsed {
  readonly values: Record<string, unknown>
  readonly nearMisses: ReadonlyArray<NearMiss.NearMiss>
}

/**
 * The model's reply to one call.
 *
 * @since 0.1.0
 */
export interface Reply {
  readonly text: string
  readonly usage: {
    readonly inputTokens?: number | undefined
    readonly outputTokens?: number | undefined
    readonly totalTokens?: number | undefined
    readonly cachedInputTokens?: number | undefined
    readonly reasoningTokens?: number | undefined
  }
  readonly finishReason: string
  /**
   * Whether the reply came from `LmCache` (its usage is then zero).
   *
   * @since 0.2.0
   */
  readonly cached?: boolean | undefined
}

/**
 * Part of one output field's value, read from a reply while it streams.
 *
 * @since 0.2.0
 */
export interface FieldChunk {
  readonly field: string
  readonly delta: string
}

/**
 * An incremental reader of one streamed reply: fed text deltas, it gives the deltas of each
 * output field as soon as they are certain. Each streamed call gets its own (no shared state).
 *
 * @since 0.2.0
 */
export interface FieldStreamParser {
  /** Consumes a text delta; returns the field deltas it made certain, in order. */
  readonly push: (text: string) => ReadonlyArray<FieldChunk>
  /** The reply ended: returns what was held back. */
  readonly end: () => ReadonlyArray<FieldChunk>
}

/**
 * An adapter.
 *
 * @since 0.1.0
 */
export interface Adapter {
  readonly name: string
  /** Builds the prompt for a call. */
  readonly format: (request: FormatRequest) => Prompt.Prompt
  /** Renders encoded outputs the way the model is asked to write them. */
  readonly formatOutputs: (signature: Signature.Any, outputs: Readonly<Record<string, unknown>>) => string
  /** Reads a reply into encoded output values, recording the near-misses it forgave. */
  readonly parse: (signature: Signature.Any, text: string) => Either.Either<Parsed, ParseIssue>
  /** Calls the model with the prompt. */
  readonly generate: (
    signature: Signature.Any,
    prompt: Prompt.Prompt
  ) => Effect.Effect<Reply, AiError.AiError, LanguageModel.LanguageModel>
  /**
   * A reader of this adapter's replies while they stream (`StreamPredict`'s field deltas).
   * An adapter with no incremental reader returns `Adapter.noFieldStream`.
   *
   * @since 0.2.0
   */
  readonly streamParser: (signature: Signature.Any) => FieldStreamParser
  /**
   * The adapter to fall back on when a reply cannot be used: it reads the same reply, and the
   * re-ask goes through it (the chat adapter's is the JSON adapter). Used unless `Fallback` is
   * turned off in context.
   *
   * @since 0.2.0
   */
  readonly fallback?: Adapter | undefined
}

/**
 * A field stream parser that finds no field.
 *
 * @since 0.2.0
 */
export const noFieldStream: FieldStreamParser = { push: () => [], end: () => [] }

/**
 * The adapter in force; the chat (field-marker) adapter unless overridden.
 * Set it for a subtree with `Adapter.withAdapter(JsonAdapter.adapter)`.
 *
 * @since 0.1.0
 */
export class CurrentAdapter extends Context.Reference<CurrentAdapter>()("@effect-dspy/core/CurrentAdapter", {
  defaultValue: (): Adapter | undefined => undefined
}) {}

/**
 * Runs an effect with another adapter.
 *
 * @since 0.1.0
 */
export const withAdapter = (adapter: Adapter) => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.provideService(self, CurrentAdapter, adapter)

/**
 * Whether adapters fall back on their `fallback` (the chat adapter on the JSON adapter, DSPy's
 * `use_json_adapter_fallback`): on by default.
 *
 * @since 0.2.0
 */
export class Fallback extends Context.Reference<Fallback>()("@effect-dspy/core/Adapter/Fallback", {
  defaultValue: (): boolean => true
}) {}

/**
 * Runs an effect with the adapter fallback on or off.
 *
 * @since 0.2.0
 * @example
 * ```ts
 * import { Adapter, Predict, Signature } from "@effect-dspy/core"
 *
 * const qa = Predict.make(Signature.fromString("question -> answer"))
 * // strict chat format: an unreadable reply is re-asked in the chat format, never read as JSON
 * const strict = qa({ question: "Why?" }).pipe(Adapter.withFallback(false))
 * ```
 */
export const withFallback = (enabled: boolean) => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.provideService(self, Fallback, enabled)

/**
 * What reading one reply gave: the parsed outputs or the issue, and the adapter a re-ask
 * goes through if the reply cannot be used.
 *
 * @since 0.2.0
 */
export interface Reading {
  readonly result: Either.Either<Parsed, ParseIssue>
  readonly reaskWith: Adapter
}

/**
 * Reads a reply to a call made through `asked`, under the adapter in force (`inForce`, the one
 * `asked` is or falls back from). The reply is read by `asked`; when it cannot be, and the
 * fallback is enabled, by the other of `inForce` and its `fallback`, so that a whole reply
 * written as JSON under the chat format is kept (and a chat-format reply to a JSON re-ask too),
 * recorded as a `fallback-format` near-miss. If both fail, the issue is `asked`'s, or the
 * other's when that one is about a field (the reply was written in its format). Any re-ask goes
 * through the fallback. This is the one place `Predict` decides which adapter reads and asks.
 *
 * @since 0.2.0
 */
export const readReply = (
  inForce: Adapter,
  asked: Adapter,
  signature: Signature.Any,
  text: string,
  fallback: boolean
): Reading => {
  const reaskWith = fallback && inForce.fallback !== undefined ? inForce.fallback : inForce
  const result = asked.parse(signature, text)
  if (Either.isRight(result) || reaskWith === inForce) return { result, reaskWith }
  const other = asked === inForce ? reaskWith : inForce
  const second = other.parse(signature, text)
  if (Either.isRight(second)) {
    const miss: NearMiss.NearMiss = {
      field: undefined,
      path: [],
      kind: "fallback-format",
      raw: text,
      accepted: second.right.values
    }
    return { result: Either.right({ ...second.right, nearMisses: [miss, ...second.right.nearMisses] }), reaskWith }
  }
  return { result: second.left.field !== undefined ? second : result, reaskWith }
}
