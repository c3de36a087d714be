/**
 * The layers' Effect tracer: every Effect span is an OpenTelemetry SDK span (the SDK samples,
 * records, limits and hands it to the span processors), with what the OpenTelemetry and GenAI
 * conventions ask of its attributes and status.
 *
 * Why not `@effect/opentelemetry`'s tracer (0.64), which does the same over the same SDK: its
 * spans convert every attribute with `unknownToAttributeValue`, which writes arrays as JSON
 * strings (`gen_ai.response.finish_reasons` became `'["stop"]'`) and unset values as the
 * string `"undefined"`; it marks successful spans OK (the specification: leave them Unset) and
 * interrupted ones OK with a description, so a cancelled or timed-out LM call showed as a
 * success; and it swaps the OpenTelemetry context on every step of every fiber inside a span,
 * whether or not anything reads it. Its span is internal, so those cannot be fixed from
 * outside; this adapter is the smallest replacement.
 *
 * Also here: `@effect/ai`'s own span inside core's LM span (`LanguageModel.generateText`) and
 * an HTTP client's span inside it are folded into the LM span (one generation per model call;
 * the HTTP span's ~40 attributes say nothing the generation does not, except the server's
 * address, which is kept), deprecated GenAI names are renamed to their replacements, and
 * `langfuse.trace.name` goes on every span of a trace.
 */
import * as OtelApi from "@opentelemetry/api"
import * as Cause from "effect/Cause"
import type * as Context from "effect/Context"
import type * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"
import type * as ContentCapture from "../ContentCapture.js"
import * as GenAi from "../GenAi.js"
import { toAttributes, toAttributeValue } from "./attributes.js"
import * as Content from "./content.js"
import type { ResponseParts } from "./messages.js"
import type * as Prompt from "@effect/ai/Prompt"

/** What the tracer needs. */
export interface Options {
  readonly tracer: OtelApi.Tracer
  /** Whether any destination receives spans; when none does, nothing is recorded on SDK spans. */
  readonly exporting: boolean
  /** How captured content is rendered; `undefined` when capture is off. */
  readonly content: Content.Policy | undefined
  /** Called when a span ends, after the SDK span has ended (metrics). */
  readonly onEnd: ((span: SdkSpan) => void) | undefined
  /**
   * A global OpenTelemetry context manager is registered: keep the OpenTelemetry context in
   * step with Effect's spans, so that other OpenTelemetry instrumentations see them as active.
   */
  readonly propagate: boolean
}

const kinds: Record<Tracer.SpanKind, OtelApi.SpanKind> = {
  internal: OtelApi.SpanKind.INTERNAL,
  client: OtelApi.SpanKind.CLIENT,
  server: OtelApi.SpanKind.SERVER,
  producer: OtelApi.SpanKind.PRODUCER,
  consumer: OtelApi.SpanKind.CONSUMER
}

const billion = BigInt(1e9)
const hrTime = (nanos: bigint): OtelApi.HrTime => [Number(nanos / billion), Number(nanos % billion)]

const traceNameKey = "langfuse.trace.name"
const deprecated = new Map(Object.entries(GenAi.deprecatedAttributes))

/** The error type of a failure: its `_tag`, else its name. */
export const errorTypeOf = (error: unknown): string => {
  if (typeof error === "object" && error !== null) {
    if ("_tag" in error && typeof error._tag === "string") return error._tag
    if (error instanceof Error && error.name !== "") return error.name
  }
  return "_OTHER"
}

const linkOf = (link: Tracer.SpanLink): OtelApi.Link => ({
  context: {
    traceId: link.span.traceId,
    spanId: link.span.spanId,
    traceFlags: link.span.sampled ? OtelApi.TraceFlags.SAMPLED : OtelApi.TraceFlags.NONE,
    isRemote: link.span._tag === "ExternalSpan"
  },
  attributes: toAttributes(link.attributes)
})

/** An Effect span recorded by an OpenTelemetry SDK span. */
export class SdkSpan implements Tracer.Span {
  readonly _tag = "Span"
  readonly spanId: string
  readonly traceId: string
  readonly sampled: boolean
  readonly attributes = new Map<string, unknown>()
  readonly otel: OtelApi.Span
  /** Whether the SDK records this span (sampled or record-only) for a destination: only then are attributes sent to it. */
  readonly recording: boolean
  status: Tracer.SpanStatus
  /** Content handed to the span, rendered when it ends. */
  captured: Content.Captured | undefined = undefined
  private childContext: OtelApi.Context | undefined = undefined
  constructor(
    readonly options: Options,
    readonly name: string,
    readonly parent: Option.Option<Tracer.AnySpan>,
    readonly context: Context.Context<never>,
    readonly links: Array<Tracer.SpanLink>,
    startTime: bigint,
    readonly kind: Tracer.SpanKind
  ) {
    const spanOptions: OtelApi.SpanOptions = { kind: kinds[kind], startTime: hrTime(startTime) }
    if (links.length > 0) spanOptions.links = links.map(linkOf)
    this.otel = options.tracer.startSpan(name, spanOptions, parentContext(parent, options.propagate))
    const spanContext = this.otel.spanContext()
    this.spanId = spanContext.spanId
    this.traceId = spanContext.traceId
    this.sampled = (spanContext.traceFlags & OtelApi.TraceFlags.SAMPLED) === OtelApi.TraceFlags.SAMPLED
    this.recording = options.exporting && this.otel.isRecording()
    this.status = { _tag: "Started", startTime }
  }
  /** The OpenTelemetry context with this span as the parent. */
  asParent(): OtelApi.Context {
    return this.childContext ??= OtelApi.trace.setSpan(OtelApi.ROOT_CONTEXT, this.otel)
  }
  /** A model call (a Langfuse generation). */
  isModelCall(): boolean {
    const operation = this.attributes.get(GenAi.Attributes.operationName)
    return typeof operation === "string" && GenAi.modelOperations.has(operation)
  }
  attribute(key: string, value: unknown): void {
    if (key.startsWith("gen_ai.") && deprecated.has(key)) {
      const replacement = deprecated.get(key)
      if (replacement === undefined || this.attributes.has(replacement)) return
      key = replacement
    }
    const converted = toAttributeValue(value)
    if (converted === undefined) return
    this.attributes.set(key, value)
    if (this.recording) this.otel.setAttribute(key, converted)
  }
  event(name: string, startTime: bigint, attributes?: Record<string, unknown>): void {
    if (this.recording) this.otel.addEvent(name, attributes === undefined ? undefined : toAttributes(attributes), hrTime(startTime))
  }
  addLinks(links: ReadonlyArray<Tracer.SpanLink>): void {
    this.links.push(...links)
    if (this.recording) this.otel.addLinks(links.map(linkOf))
  }
  /** Keeps a captured value until the span ends; nothing is kept for a span that is not recorded. */
  capture(value: unknown, info: ContentCapture.Info): void {
    if (!this.recording || this.options.content === undefined) return
    ;(this.captured ??= { values: [], call: undefined }).values.push({ value, info })
  }
  /** Keeps an `@effect/ai` call's prompt and response until the span ends. */
  captureCall(prompt: Prompt.Prompt, response: ResponseParts): void {
    if (!this.recording || this.options.content === undefined) return
    ;(this.captured ??= { values: [], call: undefined }).call = { prompt, response }
  }
  end(endTime: bigint, exit: Exit.Exit<unknown, unknown>): void {
    if (this.status._tag === "Ended") return
    this.status = { _tag: "Ended", startTime: this.status.startTime, endTime, exit }
    if (exit._tag === "Failure" && !Cause.isEmpty(exit.cause)) this.fail(exit.cause, endTime)
    const policy = this.options.content
    if (this.captured !== undefined && policy !== undefined) {
      const rendered = Content.render(policy, this.captured, this.attributes)
      for (const key in rendered) this.otel.setAttribute(key, rendered[key]!)
      this.captured = undefined
    }
    this.otel.end(hrTime(endTime))
    this.options.onEnd?.(this)
  }
  /**
   * A failure is an error, interruption (a cancelled or timed-out call) included: status
   * ERROR, `error.type` (unless the span set its own), and the exception event.
   */
  private fail(cause: Cause.Cause<unknown>, endTime: bigint): void {
    if (Cause.isInterruptedOnly(cause)) {
      if (!this.attributes.has(GenAi.Attributes.errorType)) this.attribute(GenAi.Attributes.errorType, "Interrupted")
      this.otel.setStatus({ code: OtelApi.SpanStatusCode.ERROR, message: "interrupted" })
      return
    }
    const failure = Cause.failureOption(cause)
    const error = Option.isSome(failure) ? failure.value : Cause.squash(cause)
    const type = errorTypeOf(error)
    if (!this.attributes.has(GenAi.Attributes.errorType)) this.attribute(GenAi.Attributes.errorType, type)
    // An error's message can quote content (a parse error quotes the model's reply): with
    // content capture off, spans say only the error's type and where it was raised.
    const withContent = this.options.content !== undefined
    const first = Cause.prettyErrors(cause)[0]
    const message = withContent ? first?.message ?? "" : type
    if (this.recording) {
      this.otel.addEvent("exception", {
        "exception.type": type,
        "exception.message": message,
        "exception.stacktrace": withContent ? Cause.pretty(cause, { renderErrorCause: true }) : framesOf(type, first?.stack)
      }, hrTime(endTime))
    }
    this.otel.setStatus({ code: OtelApi.SpanStatusCode.ERROR, message })
  }
}

/** A stack trace without its messages: the error's type, then the `at ...` frames. */
const framesOf = (type: string, stack: string | undefined): string =>
  [type, ...(stack ?? "").split("\n").filter((line) => /^\s+at /.test(line))].join("\n")

// The server's address and port too: the providers of `Lm.layer` write them on `@effect/ai`'s
// span, their HTTP client making no span of its own.
const isForwarded = (key: string): boolean =>
  ((key.startsWith("gen_ai.response.") || key.startsWith("gen_ai.usage.") || key.startsWith("gen_ai.request.")) &&
    !deprecated.has(key)) || key === GenAi.Attributes.serverAddress || key === GenAi.Attributes.serverPort

/**
 * A span folded into a model call's span: it shares that span's ids (so a `traceparent` header
 * it sends names the generation), forwards its events, and gives it the GenAI response and
 * usage attributes it lacks (`@effect/ai`'s span) or the server's address (an HTTP span).
 */
export class FoldedSpan implements Tracer.Span {
  readonly _tag = "Span"
  readonly spanId: string
  readonly traceId: string
  readonly sampled: boolean
  readonly attributes = new Map<string, unknown>()
  status: Tracer.SpanStatus
  constructor(
    readonly name: string,
    readonly into: SdkSpan,
    readonly parent: Option.Option<Tracer.AnySpan>,
    readonly context: Context.Context<never>,
    readonly links: Array<Tracer.SpanLink>,
    startTime: bigint,
    readonly kind: Tracer.SpanKind,
    private readonly http: boolean
  ) {
    this.spanId = into.spanId
    this.traceId = into.traceId
    this.sampled = into.sampled
    this.status = { _tag: "Started", startTime }
  }
  attribute(key: string, value: unknown): void {
    if (this.http) {
      if (key === GenAi.Attributes.serverAddress && typeof value === "string") this.serverAddress(value)
      return
    }
    this.attributes.set(key, value)
    if (isForwarded(key) && !this.into.attributes.has(key)) this.into.attribute(key, value)
  }
  // The HTTP client writes the URL's origin here; the conventions want the host and its port.
  private serverAddress(origin: string): void {
    if (this.into.attributes.has(GenAi.Attributes.serverAddress)) return
    try {
      const url = new URL(origin)
      this.into.attribute(GenAi.Attributes.serverAddress, url.hostname)
      this.into.attribute(GenAi.Attributes.serverPort, url.port === "" ? (url.protocol === "https:" ? 443 : 80) : Number(url.port))
    } catch {
      this.into.attribute(GenAi.Attributes.serverAddress, origin)
    }
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

/** The span that records what happens inside `span`: a folded span's model call, else itself. */
export const recorderOf = (span: Tracer.AnySpan): SdkSpan | undefined =>
  span instanceof SdkSpan ? span : span instanceof FoldedSpan ? span.into : undefined

function parentContext(parent: Option.Option<Tracer.AnySpan>, propagate: boolean): OtelApi.Context {
  if (Option.isNone(parent)) {
    // Under another instrumentation's active span (an HTTP server's, say), when one is visible.
    return propagate ? OtelApi.context.active() : OtelApi.ROOT_CONTEXT
  }
  const recorder = recorderOf(parent.value)
  if (recorder !== undefined) return recorder.asParent()
  const span = parent.value
  return OtelApi.trace.setSpanContext(OtelApi.ROOT_CONTEXT, {
    traceId: span.traceId,
    spanId: span.spanId,
    traceFlags: span.sampled ? OtelApi.TraceFlags.SAMPLED : OtelApi.TraceFlags.NONE,
    isRemote: span._tag === "ExternalSpan"
  })
}

/**
 * True when a global OpenTelemetry context manager is registered: only then does keeping the
 * OpenTelemetry context in step with Effect's spans serve anyone.
 */
export const contextPropagates = (): boolean => {
  const key = OtelApi.createContextKey("@effect-dspy/telemetry/probe")
  const probe = OtelApi.ROOT_CONTEXT.setValue(key, true)
  return OtelApi.context.with(probe, () => OtelApi.context.active().getValue(key) === true)
}

/** The tracer. */
export const make = (options: Options): Tracer.Tracer =>
  Tracer.make({
    span(name, parent, context, links, startTime, kind) {
      if (Option.isSome(parent)) {
        const outer = parent.value
        if (outer instanceof SdkSpan && name.startsWith("LanguageModel.") && outer.isModelCall()) {
          return new FoldedSpan(name, outer, parent, context, [...links], startTime, kind, false)
        }
        const call = outer instanceof FoldedSpan ? outer.into : outer instanceof SdkSpan && outer.isModelCall() ? outer : undefined
        if (call !== undefined && kind === "client" && name.startsWith("http.client")) {
          return new FoldedSpan(name, call, parent, context, [...links], startTime, kind, true)
        }
      }
      const span = new SdkSpan(options, name, parent, context, [...links], startTime, kind)
      const parentRecorder = Option.isSome(parent) ? recorderOf(parent.value) : undefined
      const traceName = parentRecorder === undefined ? name : parentRecorder.attributes.get(traceNameKey)
      if (traceName !== undefined) span.attribute(traceNameKey, traceName)
      return span
    },
    context: options.propagate
      ? (f, fiber) => {
        const current = fiber.currentSpan === undefined ? undefined : recorderOf(fiber.currentSpan)
        return current === undefined ? f() : OtelApi.context.with(OtelApi.trace.setSpan(OtelApi.context.active(), current.otel), f)
      }
      : (f) => f()
  })
