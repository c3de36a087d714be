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
import type * as Either from "effect/Either"
import type * as Demo from "./Demo.js"
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
  /** Reads a reply into encoded output values (not yet decoded by the output Schema). */
  readonly parse: (signature: Signature.Any, text: string) => Either.Either<Record<string, unknown>, ParseIssue>
  /** Calls the model with the prompt. */
  readonly generate: (
    signature: Signature.Any,
    prompt: Prompt.Prompt
  ) => Effect.Effect<Reply, AiError.AiError, LanguageModel.LanguageModel>
}

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
