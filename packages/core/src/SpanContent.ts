/**
 * Content capture: module, LM and tool spans hand their inputs and outputs to the sink in
 * context. Core renders nothing itself and, without a sink, costs one context lookup per value;
 * a telemetry layer provides the sink (rendering, redaction, masking, when and whether to).
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Tracer from "effect/Tracer"

/**
 * Which span a value belongs to, and whether it went in or came out.
 *
 * @since 0.1.0
 */
export interface Info {
  readonly span: "module" | "lm" | "tool"
  readonly direction: "input" | "output"
  /** Module name, model name or tool name. */
  readonly name: string
}

/**
 * Receives one value of one span: module inputs (encoded-or-not input object) and outputs,
 * the LM call's `Prompt` and reply text, a tool's decoded arguments and its observation.
 * Called on the caller's fiber: keep references, render later.
 *
 * @since 0.1.0
 */
export type Sink = (span: Tracer.Span, value: unknown, info: Info) => void

/**
 * The sink in force; none by default.
 *
 * @since 0.1.0
 */
export class SpanContent extends Context.Reference<SpanContent>()("@effect-dspy/core/SpanContent", {
  defaultValue: (): Sink | undefined => undefined
}) {}

/**
 * Hands a value to the sink in context, with the current span.
 *
 * @since 0.1.0
 */
export const capture = (info: Info, value: unknown): Effect.Effect<void> =>
  Effect.flatMap(SpanContent, (sink) =>
    sink === undefined
      ? Effect.void
      : Effect.map(Effect.option(Effect.currentSpan), (span) => {
        if (Option.isSome(span)) sink(span.value, value, info)
      }))
