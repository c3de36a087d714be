/**
 * Extra HTTP headers and body fields for the model calls of one part of a program, whichever the
 * provider (e.g. OpenRouter's `X-Title`, vLLM's `top_k`, a tracing header per request).
 *
 * @since 0.2.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"

/**
 * Extra headers and body fields.
 *
 * @since 0.2.0
 */
export interface Extras {
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** Merged into the request body's top level; the fields the provider builds win. */
  readonly body?: Readonly<Record<string, unknown>> | undefined
}

/**
 * The extras in force for the current fiber (none by default).
 *
 * @since 0.2.0
 */
export class RequestOptions extends Context.Reference<RequestOptions>()("@effect-dspy/providers/RequestOptions", {
  defaultValue: (): Extras => ({})
}) {}

// \`with\` is a reserved word: the function is exported under that name below.
/**
 * Runs an effect with these extras merged over the ones in force.
 *
 * @example
 * ```ts
 * import { RequestOptions } from "@effect-dspy/providers"
 * import { Effect } from "effect"
 * const program = Effect.succeed("answer")
 *
 * const tagged = program.pipe(RequestOptions.with({ headers: { "X-Title": "my app" }, body: { top_k: 40 } }))
 * ```
 *
 * @since 0.2.0
 */
const with_ = (extras: Extras) => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(RequestOptions, (current) =>
    Effect.provideService(self, RequestOptions, {
      headers: { ...current.headers, ...extras.headers },
      body: { ...current.body, ...extras.body }
    }))

export {
  /**
   * Runs an effect with these extras merged over the ones in force.
   *
   * @since 0.2.0
   */
  with_ as with
}
