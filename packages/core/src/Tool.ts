/**
 * Tools for ReAct: a name, a description, Schema-typed parameters and an Effect handler.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as JSONSchema from "effect/JSONSchema"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { ToolError } from "./DspyError.js"
import * as GenAiSpan from "./GenAiSpan.js"
import { causeMessage } from "./internal/describe.js"
import { erase } from "./internal/erased.js"

/**
 * A tool whose handler needs services `R`.
 *
 * @since 0.1.0
 */
export interface Tool<R = never> {
  readonly name: string
  readonly description: string
  /** JSON schema of the parameters, shown to the model. */
  readonly parametersJsonSchema: object
  /** Decodes the model's arguments and runs the handler; any failure becomes a `ToolError`. */
  readonly call: (args: unknown) => Effect.Effect<string, ToolError, R>
}

/**
 * Any tool.
 *
 * @since 0.1.0
 */
export type Any = Tool<never> | Tool<unknown>

/**
 * The services the tools of a list need.
 *
 * @since 0.1.0
 */
export type Requirements<T extends ReadonlyArray<Tool<unknown>>> = T[number] extends Tool<infer R> ? R : never

// The handler's own error type (its `_tag`, else its class name); a defect or interruption is named as such.
const errorTypeOf = (cause: Cause.Cause<unknown>): string => {
  if (Cause.isInterruptedOnly(cause)) return "Interrupted"
  const failure = Cause.failureOption(cause)
  const error: unknown = failure._tag === "Some" ? failure.value : Cause.squash(cause)
  if (typeof error === "object" && error !== null) {
    if ("_tag" in error && typeof error._tag === "string") return error._tag
    if (error instanceof Error && error.name !== "") return error.name
  }
  return "_OTHER"
}

const observationText = (value: unknown): string => typeof value === "string" ? value : JSON.stringify(value)

/**
 * Makes a tool. The handler gets the decoded parameters; its result is shown to the model as
 * text (strings as-is, other values as JSON). Handler failures are fed back to the model.
 *
 * @example
 * ```ts
 * import { Tool } from "@effect-dspy/core"
 * import { Effect, Schema } from "effect"
 *
 * const add = Tool.make({
 *   name: "add",
 *   description: "Adds two numbers",
 *   parameters: { a: Schema.Number, b: Schema.Number },
 *   handler: ({ a, b }) => Effect.succeed(a + b)
 * })
 * ```
 *
 * @since 0.1.0
 */
export const make = <const P extends Schema.Struct.Fields, A, E, R>(options: {
  readonly name: string
  readonly description: string
  readonly parameters: P
  readonly handler: (params: Schema.Struct.Type<P>) => Effect.Effect<A, E, R>
}): Tool<R> => {
  const struct = Schema.Struct(options.parameters)
  const decode = Schema.decodeUnknownEither(erase(struct), { errors: "all", onExcessProperty: "error" })
  const { $schema: _ignored, ...parametersJsonSchema } = JSONSchema.make(struct)
  const span = GenAiSpan.toolSpan(options.name, options.description)
  return {
    name: options.name,
    description: options.description,
    parametersJsonSchema,
    // The span covers the whole call, arguments the model got wrong included (`error.type`
    // InvalidToolArguments); a handler's failure gives the span its own type.
    call: (args) =>
      Effect.suspend(() => {
        const decoded = decode(args ?? {})
        if (Either.isLeft(decoded)) {
          return Effect.zipRight(
            Effect.annotateCurrentSpan(GenAiSpan.Attributes.errorType, "InvalidToolArguments"),
            Effect.fail(
              new ToolError({
                tool: options.name,
                reason: `invalid arguments: ${ParseResult.TreeFormatter.formatErrorSync(decoded.left)}`
              })
            )
          )
        }
        // The decoded value is the struct's Type by construction of `decode`.
        const params = decoded.right as Schema.Struct.Type<P>
        return options.handler(params).pipe(
          Effect.map(observationText),
          GenAiSpan.withContent({ span: "tool", name: options.name }, params),
          Effect.catchAllCause((cause) =>
            Effect.zipRight(
              Effect.annotateCurrentSpan(GenAiSpan.Attributes.errorType, errorTypeOf(cause)),
              Effect.fail(new ToolError({ tool: options.name, reason: causeMessage(cause) }))
            )
          )
        )
      }).pipe(GenAiSpan.withSpan(span))
  }
}
