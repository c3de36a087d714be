/**
 * Spans recorded once: an Effect span that, when it ends, hands the export pipeline (the SDK's
 * `BatchSpanProcessor` and our encoder) a `ReadableSpan` view of itself.
 *
 * Why not `@effect/opentelemetry`'s tracer over the SDK's tracer (which the layers still use when
 * a global OpenTelemetry context manager is registered, see `tracer.ts`): it keeps every span
 * twice, an Effect span and an SDK span, creating the second (ids, clocks, sampler, attribute
 * validation) and converting every attribute on the caller's fiber as it is set. Here the
 * caller's fiber only stores what it is given; conversion to OpenTelemetry's shapes (attribute
 * values, times, status, the exception event) happens in the view, when the span is exported,
 * off the caller's fiber, and never for a span dropped from a full queue. The output is what
 * the SDK span would have held (status and exception event as `@effect/opentelemetry` sets
 * them, the SDK's default limit of 128 attributes, events and links).
 */
import type { Attributes, HrTime, Link, SpanContext, SpanStatus } from "@opentelemetry/api"
import { SpanKind as OtelSpanKind, SpanStatusCode } from "@opentelemetry/api"
import type { InstrumentationScope } from "@opentelemetry/core"
import type { Resource } from "@opentelemetry/resources"
import type { ReadableSpan, TimedEvent } from "@opentelemetry/sdk-trace-base"
import * as Cause from "effect/Cause"
import type * as Context from "effect/Context"
import type * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import type * as Tracer from "effect/Tracer"
import { toAttributeValue } from "./attributes.js"
import type { Entry } from "./content.js"

const limit = 128

const kinds: Record<Tracer.SpanKind, OtelSpanKind> = {
  internal: OtelSpanKind.INTERNAL,
  client: OtelSpanKind.CLIENT,
  server: OtelSpanKind.SERVER,
  producer: OtelSpanKind.PRODUCER,
  consumer: OtelSpanKind.CONSUMER
}

const hexDigits = "0123456789abcdef"
const randomHex = (length: number): string => {
  let out = ""
  for (let i = 0; i < length; i++) out += hexDigits[(Math.random() * 16) | 0]
  return out
}

const billion = BigInt(1e9)
const hrTime = (nanos: bigint): HrTime => [Number(nanos / billion), Number(nanos % billion)]

const toAttributes = (record: Readonly<Record<string, unknown>> | undefined): Attributes | undefined => {
  if (record === undefined) return undefined
  const out: Attributes = {}
  for (const key in record) {
    const value = toAttributeValue(record[key])
    if (value !== undefined) out[key] = value
  }
  return out
}

const linkOf = (link: Tracer.SpanLink): Link => ({
  context: { traceId: link.span.traceId, spanId: link.span.spanId, traceFlags: link.span.sampled ? 1 : 0 },
  attributes: toAttributes(link.attributes) ?? {}
})

/** Where ended spans go: the destinations' span processors. */
export interface Target {
  readonly resource: Resource
  readonly scope: InstrumentationScope
  readonly onEnd: (span: ReadableSpan) => void
}

/** An Effect span recorded for export. */
export class RecordedSpan implements Tracer.Span {
  readonly _tag = "Span"
  readonly spanId: string
  readonly traceId: string
  readonly sampled: boolean
  readonly attributes = new Map<string, unknown>()
  status: Tracer.SpanStatus
  events: Array<readonly [string, bigint, Record<string, unknown> | undefined]> | undefined = undefined
  /** Module, LM or tool content, rendered at export. */
  content: Entry | undefined = undefined
  constructor(
    readonly target: Target,
    readonly name: string,
    readonly parent: Option.Option<Tracer.AnySpan>,
    readonly context: Context.Context<never>,
    readonly links: Array<Tracer.SpanLink>,
    startTime: bigint,
    readonly kind: Tracer.SpanKind
  ) {
    const parentSpan = Option.getOrUndefined(parent)
    this.traceId = parentSpan === undefined ? randomHex(32) : parentSpan.traceId
    this.spanId = randomHex(16)
    this.sampled = parentSpan === undefined ? true : parentSpan.sampled
    this.status = { _tag: "Started", startTime }
  }
  attribute(key: string, value: unknown): void {
    // Unset options are left off rather than exported as "undefined".
    if (value === undefined || value === null) return
    this.attributes.set(key, value)
  }
  event(name: string, startTime: bigint, attributes?: Record<string, unknown>): void {
    ;(this.events ??= []).push([name, startTime, attributes])
  }
  addLinks(links: ReadonlyArray<Tracer.SpanLink>): void {
    this.links.push(...links)
  }
  end(endTime: bigint, exit: Exit.Exit<unknown, unknown>): void {
    if (this.status._tag === "Ended") return
    this.status = { _tag: "Ended", startTime: this.status.startTime, endTime, exit }
    if (this.sampled) this.target.onEnd(new SpanView(this, endTime, exit))
  }
}

/**
 * The span as OpenTelemetry's exporters read it, converted when it is exported. It keeps only
 * what export needs (not the Effect span, its parent chain or its exit's value), so a full
 * queue holds no more than that.
 */
export class SpanView implements ReadableSpan {
  readonly ended = true
  readonly resource: Resource
  readonly instrumentationScope: InstrumentationScope
  readonly kind: OtelSpanKind
  readonly name: string
  readonly links: Array<Link>
  readonly droppedLinksCount: number
  readonly parentSpanContext?: SpanContext
  /** The span's content, rendered at export. */
  readonly content: Entry | undefined
  private readonly context: SpanContext
  private readonly start: bigint
  private readonly finish: bigint
  private readonly recorded: Map<string, unknown>
  private readonly recordedEvents: RecordedSpan["events"]
  /** Undefined for a success; the cause (rendered at export) for a failure. */
  private readonly cause: Cause.Cause<unknown> | undefined
  private computed: {
    readonly attributes: Attributes
    readonly droppedAttributes: number
    readonly events: Array<TimedEvent>
    readonly droppedEvents: number
    readonly status: SpanStatus
  } | undefined = undefined
  constructor(source: RecordedSpan, endTime: bigint, exit: Exit.Exit<unknown, unknown>) {
    this.resource = source.target.resource
    this.instrumentationScope = source.target.scope
    this.kind = kinds[source.kind]
    this.name = source.name
    this.context = { traceId: source.traceId, spanId: source.spanId, traceFlags: 1, isRemote: false }
    const parent = Option.getOrUndefined(source.parent)
    if (parent !== undefined) {
      this.parentSpanContext = {
        traceId: parent.traceId,
        spanId: parent.spanId,
        traceFlags: parent.sampled ? 1 : 0,
        isRemote: parent._tag === "ExternalSpan"
      }
    }
    this.links = source.links.length === 0 ? [] : source.links.slice(0, limit).map(linkOf)
    this.droppedLinksCount = Math.max(0, source.links.length - limit)
    this.content = source.content
    this.start = source.status.startTime
    this.finish = endTime
    this.recorded = source.attributes
    this.recordedEvents = source.events
    this.cause = exit._tag === "Success" ? undefined : exit.cause
  }
  spanContext(): SpanContext {
    return this.context
  }
  get startTime(): HrTime {
    return hrTime(this.start)
  }
  get endTime(): HrTime {
    return hrTime(this.finish)
  }
  get duration(): HrTime {
    return hrTime(this.finish - this.start)
  }
  get attributes(): Attributes {
    return this.compute().attributes
  }
  get droppedAttributesCount(): number {
    return this.compute().droppedAttributes
  }
  get events(): Array<TimedEvent> {
    return this.compute().events
  }
  get droppedEventsCount(): number {
    return this.compute().droppedEvents
  }
  get status(): SpanStatus {
    return this.compute().status
  }
  private compute() {
    if (this.computed !== undefined) return this.computed
    const attributes: Attributes = {}
    let count = 0
    let droppedAttributes = 0
    const set = (key: string, value: unknown) => {
      const converted = toAttributeValue(value)
      if (converted === undefined) return
      if (!(key in attributes)) {
        if (count >= limit) {
          droppedAttributes++
          return
        }
        count++
      }
      attributes[key] = converted
    }
    for (const [key, value] of this.recorded) set(key, value)
    const all: Array<TimedEvent> = []
    for (const [name, time, attrs] of this.recordedEvents ?? []) {
      all.push({ name, time: hrTime(time), attributes: toAttributes(attrs) ?? {}, droppedAttributesCount: 0 })
    }
    // Status and the exception event as @effect/opentelemetry sets them.
    let status: SpanStatus = { code: SpanStatusCode.OK }
    const cause = this.cause
    if (cause !== undefined) {
      if (Cause.isInterruptedOnly(cause)) {
        status = { code: SpanStatusCode.OK, message: Cause.pretty(cause) }
        set("span.label", "⚠︎ Interrupted")
        set("status.interrupted", true)
      } else {
        const first = Cause.prettyErrors(cause)[0]
        if (first !== undefined) {
          const event: Attributes = {}
          const code: unknown = Reflect.get(first, "code")
          if (code !== undefined && code !== null && code !== "" && code !== 0) event["exception.type"] = String(code)
          else if (first.name) event["exception.type"] = first.name
          if (first.message) event["exception.message"] = first.message
          event["exception.stacktrace"] = Cause.pretty(cause, { renderErrorCause: true })
          all.push({ name: "exception", time: hrTime(this.finish), attributes: event, droppedAttributesCount: 0 })
          status = { code: SpanStatusCode.ERROR, message: first.message }
        }
      }
    }
    const events = all.length > limit ? all.slice(all.length - limit) : all
    this.computed = { attributes, droppedAttributes, events, droppedEvents: all.length - events.length, status }
    return this.computed
  }
}
