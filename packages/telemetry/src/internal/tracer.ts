import * as OtelTracer from "@effect/opentelemetry/Tracer"
import * as OtelApi from "@opentelemetry/api"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"
import { toAttributeValue } from "./attributes.js"
import { RecordedSpan, type Target } from "./span.js"

export { toAttributeValue } from "./attributes.js"

interface WithOtelSpan {
  readonly span: OtelApi.Span
  readonly attributes: Map<string, unknown>
}

// @effect/opentelemetry's span keeps the OpenTelemetry span in `span` and its attributes in a Map.
const hasOtelSpan = (span: Tracer.Span): span is Tracer.Span & WithOtelSpan => {
  const candidate: unknown = Reflect.get(span, "span")
  return typeof candidate === "object" && candidate !== null &&
    typeof Reflect.get(candidate, "setAttribute") === "function" &&
    span.attributes instanceof Map
}

/**
 * True when a global OpenTelemetry context manager is registered: only then does copying the
 * Effect span into the OpenTelemetry context for each fiber run serve anyone (other
 * OpenTelemetry instrumentations reading the active span).
 */
export const contextPropagates = (): boolean => {
  const key = OtelApi.createContextKey("@effect-dspy/telemetry/probe")
  const probe = OtelApi.ROOT_CONTEXT.setValue(key, true)
  return OtelApi.context.with(probe, () => OtelApi.context.active().getValue(key) === true)
}

const isGeneration = (span: Tracer.AnySpan): span is Tracer.Span =>
  span._tag === "Span" && span.attributes.get("langfuse.observation.type") === "generation"

/**
 * `@effect/ai`'s own span inside core's `chat {model}` span (`LanguageModel.generateText`),
 * folded into it: not exported, its `gen_ai.*` attributes copied onto the `chat` span when
 * that lacks them (the response model and id), and its children parented to the `chat` span
 * (it shares the `chat` span's ids). One generation per LM call instead of a generation with
 * a look-alike child, and a third fewer spans to create and export.
 */
class FoldedSpan implements Tracer.Span {
  readonly _tag = "Span"
  readonly spanId: string
  readonly traceId: string
  readonly sampled: boolean
  readonly attributes = new Map<string, unknown>()
  readonly parent: Option.Option<Tracer.AnySpan>
  status: Tracer.SpanStatus
  constructor(
    readonly name: string,
    readonly into: Tracer.Span,
    readonly context: Context.Context<never>,
    readonly links: Array<Tracer.SpanLink>,
    startTime: bigint,
    readonly kind: Tracer.SpanKind
  ) {
    this.spanId = into.spanId
    this.traceId = into.traceId
    this.sampled = into.sampled
    this.parent = Option.some(into)
    this.status = { _tag: "Started", startTime }
  }
  attribute(key: string, value: unknown): void {
    this.attributes.set(key, value)
    if (key.startsWith("gen_ai.") && !this.into.attributes.has(key)) this.into.attribute(key, value)
  }
  event(name: string, startTime: bigint, attributes?: Record<string, unknown>): void {
    this.into.event(name, startTime, attributes)
  }
  addLinks(links: ReadonlyArray<Tracer.SpanLink>): void {
    this.links.push(...links)
  }
  end(endTime: bigint, exit: Exit.Exit<unknown, unknown>): void {
    if (this.status._tag === "Started") this.status = { _tag: "Ended", startTime: this.status.startTime, endTime, exit }
  }
}

/**
 * A provider's HTTP request span inside core's `chat {model}` span (`http.client POST`), folded
 * into it: one request per generation, so its ~40 attributes (URL, status, every request and
 * response header) say nothing the generation does not, and recording and exporting them was
 * the largest single cost of tracing an LM call. It shares the generation's ids, so the
 * `traceparent` header the HTTP client sends names the generation, and it forwards events.
 * Its attributes are not kept (the map stays empty).
 */
class HttpSpan extends FoldedSpan {
  override attribute(): void {}
}

/**
 * The layers' Effect tracer: spans recorded once and exported through `target` (see
 * `span.ts`), with `langfuse.trace.name` on every root span and `@effect/ai`'s span and a
 * provider's HTTP span folded into core's LM span. When a global OpenTelemetry context manager is registered, spans are
 * `@effect/opentelemetry`'s over the SDK's tracer instead, so that other OpenTelemetry
 * instrumentations see Effect's spans as active (and Effect spans nest under theirs).
 */
export const make = (tracer: OtelApi.Tracer, target: Target): Effect.Effect<Tracer.Tracer> =>
  Effect.map(Effect.provideService(OtelTracer.make, OtelTracer.OtelTracer, tracer), (base) => {
    const propagate = contextPropagates()
    return Tracer.make({
      span(name, parent, context, links, startTime, kind, options) {
        if (Option.isSome(parent)) {
          const outer = parent.value
          if (name.startsWith("LanguageModel.") && isGeneration(outer)) {
            return new FoldedSpan(name, outer, context, [...links], startTime, kind)
          }
          if (kind === "client" && name.startsWith("http.client") && (outer instanceof FoldedSpan || isGeneration(outer))) {
            return new HttpSpan(name, outer instanceof FoldedSpan ? outer.into : outer, context, [...links], startTime, kind)
          }
        }
        let span: Tracer.Span
        if (!propagate) span = new RecordedSpan(target, name, parent, context, [...links], startTime, kind)
        else {
          span = base.span(name, parent, context, links, startTime, kind, options)
          if (hasOtelSpan(span)) {
            const otel = span.span
            const attributes = span.attributes
            span.attribute = (key, value) => {
              const converted = toAttributeValue(value)
              if (converted === undefined) return
              otel.setAttribute(key, converted)
              attributes.set(key, value)
            }
          }
        }
        if (Option.isNone(span.parent)) span.attribute("langfuse.trace.name", name)
        return span
      },
      context: propagate ? (f, fiber) => base.context(f, fiber) : (f) => f()
    })
  })
