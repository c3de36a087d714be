/**
 * One destination's export pipeline, the OpenTelemetry SDK's parts with a thin layer of ours:
 *
 *   span end ─▶ gate ─────────────▶ BatchSpanProcessor ─▶ exporter
 *               (bounded, counts      (the SDK's: queue,    (per destination: Langfuse names,
 *                every drop)           batches, schedule)    secrets scrubbed, the SDK's OTLP
 *                                                            serializer, `transport.ts`)
 *
 * The gate exists because the processor drops spans beyond its queue and only says so to its
 * diagnostic logger; it mirrors the processor's queue exactly (a span passes when there is
 * room, and leaves when the processor hands it to the exporter), so every span ends up
 * counted as exported, dropped or failed. Exports run as fibers of the layer (never on the
 * fiber that ended a span), so the shutdown can cut them short.
 */
import { Redaction } from "@effect-dspy/core"
import type * as HttpClient from "@effect/platform/HttpClient"
import type { Attributes } from "@opentelemetry/api"
import { type ExportResult, ExportResultCode } from "@opentelemetry/core"
import { type IExportTraceServiceResponse, type ISerializer, JsonTraceSerializer, ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer"
import { type Resource, resourceFromAttributes } from "@opentelemetry/resources"
import { BatchSpanProcessor, type ReadableSpan, type SpanExporter, type SpanProcessor } from "@opentelemetry/sdk-trace-base"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import type * as Redacted from "effect/Redacted"
import * as GenAi from "../GenAi.js"
import type * as TelemetryConfig from "../TelemetryConfig.js"
import * as Transport from "./transport.js"

/** Counters of one destination, in spans; plain numbers read by the layer's reporter. */
export interface Stats {
  /** Waiting in the processor's queue. */
  queued: number
  /** The most that ever waited at once. */
  peakQueued: number
  /** Handed to an export that has not finished. */
  inFlight: number
  /** The most that were ever in exports at once (never above the queue plus one batch). */
  peakInFlight: number
  /** Refused: the queue was full, or the layer was closing. */
  dropped: number
  /** Accepted by the destination. */
  exported: number
  /** Not accepted: the export failed for good, was rejected, or was abandoned at shutdown. */
  failed: number
}

/** What the pipeline reports as it runs. */
export interface Hooks {
  readonly dropped: (count: number) => void
  readonly exported: (count: number) => void
  readonly failed: (count: number, reason: string) => void
}

/** One destination's pipeline. */
export interface Sink {
  readonly destination: TelemetryConfig.Destination
  readonly processor: SpanProcessor
  readonly stats: Stats
  /** Whether the last export was accepted (true until one ends). */
  readonly healthy: () => boolean
  /**
   * From now on new spans are refused (counted as dropped) and exports make no further
   * attempts; when the destination is failing, exports in flight and what is still queued
   * fail at once instead of waiting for a collector that is not there.
   */
  readonly beginShutdown: Effect.Effect<void>
}

/** Forks an export into the layer's fiber set (interrupted when the shutdown's budget runs out). */
export type Fork = (effect: Effect.Effect<void>) => Fiber.RuntimeFiber<void>

/**
 * Langfuse names a generation after its span, and every model call of a ReAct agent is
 * `chat {model}`: the predictor (core's `dspy.predictor`, else the signature) tells them apart.
 */
const langfuseName = (span: ReadableSpan): string => {
  const operation = span.attributes[GenAi.Attributes.operationName]
  if (typeof operation !== "string" || !GenAi.modelOperations.has(operation)) return span.name
  const predictor = span.attributes["dspy.predictor"] ?? span.attributes["dspy.signature"]
  return typeof predictor === "string" && predictor !== "" ? `${predictor} (${span.name})` : span.name
}

/**
 * An agent's span carries the usage totals of its model calls (the conventions ask for them);
 * Langfuse prices every generation-like observation with a model and usage, agents included,
 * and sums a trace's observations, so the totals would be counted twice there. Langfuse gets
 * the agent without them (it shows the sum of its generations).
 */
const withoutTotals = (span: ReadableSpan): Attributes => {
  const operation = span.attributes[GenAi.Attributes.operationName]
  if (operation === undefined || (typeof operation === "string" && GenAi.modelOperations.has(operation))) return span.attributes
  let out: Attributes | undefined = undefined
  for (const key in span.attributes) {
    if (!key.startsWith("gen_ai.usage.")) continue
    out ??= { ...span.attributes }
    delete out[key]
  }
  return out ?? span.attributes
}

const needsScrub = (attributes: Attributes, scrub: Redaction.Scrubber): boolean => {
  for (const key in attributes) {
    const value = attributes[key]
    if (typeof value === "string" ? scrub.test(value) : Array.isArray(value) && value.some((v: unknown) => typeof v === "string" && scrub.test(v))) {
      return true
    }
  }
  return false
}

const scrubAttributes = (attributes: Attributes, scrub: Redaction.Scrubber): Attributes => {
  const out: Attributes = {}
  for (const key in attributes) {
    const value = attributes[key]
    out[key] = typeof value === "string"
      ? scrub.apply(value)
      : Array.isArray(value)
      ? (value.map((v: unknown) => (typeof v === "string" ? scrub.apply(v) : v)) as Array<string>)
      : value
  }
  return out
}

/** A destination's rewritten resource (Langfuse's environment and release merged in) for the SDK resource it came from. */
export interface ResourceMemo {
  source: Resource | undefined
  merged: Resource | undefined
}

/**
 * The span as this destination sends it: for Langfuse with its generation names and the
 * environment and release on the resource; for every destination with known secrets replaced.
 * The span itself when nothing changes. `resource` remembers this destination's rewritten
 * resource for the last SDK resource seen (a program's tracer provider has one), so that it is
 * merged once.
 */
export const prepare = (
  span: ReadableSpan,
  destination: TelemetryConfig.Destination,
  scrub: Redaction.Scrubber | undefined,
  resourceMemo: ResourceMemo
): ReadableSpan => {
  const langfuse = destination.langfuse
  let name = langfuse === undefined ? span.name : langfuseName(span)
  let resource = span.resource
  if (langfuse !== undefined && (langfuse.environment !== undefined || langfuse.release !== undefined)) {
    if (resourceMemo.source !== span.resource || resourceMemo.merged === undefined) {
      const extra: Attributes = {}
      if (langfuse.environment !== undefined) extra["langfuse.environment"] = langfuse.environment
      if (langfuse.release !== undefined) extra["langfuse.release"] = langfuse.release
      resourceMemo.source = span.resource
      resourceMemo.merged = span.resource.merge(resourceFromAttributes(extra))
    }
    resource = resourceMemo.merged
  }
  let attributes = span.attributes
  if (langfuse !== undefined) attributes = withoutTotals(span)
  let status = span.status
  let events = span.events
  if (scrub !== undefined) {
    const dirty = scrub.test(name) || (status.message !== undefined && scrub.test(status.message)) ||
      needsScrub(attributes, scrub) || events.some((e) => scrub.test(e.name) || (e.attributes !== undefined && needsScrub(e.attributes, scrub)))
    if (dirty) {
      name = scrub.apply(name)
      attributes = scrubAttributes(attributes, scrub)
      if (status.message !== undefined) status = { ...status, message: scrub.apply(status.message) }
      events = events.map((e) => ({
        ...e,
        name: scrub.apply(e.name),
        ...(e.attributes === undefined ? {} : { attributes: scrubAttributes(e.attributes, scrub) })
      }))
    }
  }
  if (name === span.name && resource === span.resource && attributes === span.attributes && events === span.events) return span
  return {
    name,
    kind: span.kind,
    spanContext: () => span.spanContext(),
    ...(span.parentSpanContext === undefined ? {} : { parentSpanContext: span.parentSpanContext }),
    startTime: span.startTime,
    endTime: span.endTime,
    status,
    attributes,
    links: span.links,
    events,
    duration: span.duration,
    ended: span.ended,
    resource,
    instrumentationScope: span.instrumentationScope,
    droppedAttributesCount: span.droppedAttributesCount,
    droppedEventsCount: span.droppedEventsCount,
    droppedLinksCount: span.droppedLinksCount
  }
}

const serializerOf = (protocol: TelemetryConfig.Protocol): ISerializer<Array<ReadableSpan>, IExportTraceServiceResponse> =>
  protocol === "http/json" ? JsonTraceSerializer : ProtobufTraceSerializer

/** The transport target of a destination; its deadline is never beyond the processor's export timeout. */
export const targetOf = (
  destination: TelemetryConfig.Destination,
  exportTimeout: Duration.Duration
): Transport.Target => ({
  url: destination.url,
  headers: destination.headers,
  contentType: destination.protocol === "http/json" ? "application/json" : "application/x-protobuf",
  compression: destination.compression,
  timeout: Duration.min(destination.timeout, exportTimeout)
})

// The longest delay a timer holds: beyond it Node fires at once (and the processor would export
// every span on its own).
const maxTimerMillis = 2 ** 31 - 1

/** The batch span processor's options for the settings; its delays within a timer's range. */
export const processorOptions = (batch: TelemetryConfig.Batch) => ({
  maxQueueSize: batch.maxQueueSize,
  maxExportBatchSize: Math.min(batch.maxExportBatchSize, batch.maxQueueSize),
  scheduledDelayMillis: Math.min(maxTimerMillis, Duration.toMillis(batch.scheduleDelay)),
  // "No limit" waits for the export's own deadline.
  exportTimeoutMillis: Math.min(maxTimerMillis, Duration.toMillis(batch.exportTimeout))
})

/** Builds the pipeline of one destination. */
export const make = (
  destination: TelemetryConfig.Destination,
  batch: TelemetryConfig.Batch,
  deps: {
    readonly client: HttpClient.HttpClient
    readonly fork: Fork
    readonly secrets: ReadonlyArray<Redacted.Redacted<string>>
    readonly hooks: Hooks
  }
): Effect.Effect<Sink> => Effect.gen(function*() {
  const stats: Stats = { queued: 0, peakQueued: 0, inFlight: 0, peakInFlight: 0, dropped: 0, exported: 0, failed: 0 }
  // Spans in exports at once: a full queue flushed at shutdown, plus the batch in flight.
  const maxInFlight = batch.maxQueueSize + Math.min(batch.maxExportBatchSize, batch.maxQueueSize)
  const serializer = serializerOf(destination.protocol)
  const target = targetOf(destination, batch.exportTimeout)
  const scrub = deps.secrets.length === 0 ? undefined : Redaction.makeScrubber(deps.secrets)
  // this destination's Langfuse resource (its environment and release merged in), made once
  const resourceMemo: ResourceMemo = { source: undefined, merged: undefined }
  let closing = false
  let healthy = true
  let failFast = false
  // Done when the layer starts closing (no more retries), and when it gives up on a failing
  // destination (exports in flight end at once).
  const closed = yield* Deferred.make<void>()
  const abandoned = yield* Deferred.make<void>()

  const settle = (count: number, accepted: number, reason: string | undefined) => {
    stats.inFlight -= count
    stats.exported += accepted
    if (accepted > 0) deps.hooks.exported(accepted)
    if (count > accepted) {
      stats.failed += count - accepted
      deps.hooks.failed(count - accepted, reason ?? "export failed")
    }
  }

  const exportSpans = (spans: ReadonlyArray<ReadableSpan>): Effect.Effect<{ readonly accepted: number; readonly reason?: string }> =>
    Effect.suspend(() => {
      const body = serializer.serializeRequest(spans.map((span) => prepare(span, destination, scrub, resourceMemo)))
      if (body === undefined) return Effect.succeed({ accepted: 0, reason: "the spans could not be serialized" })
      // Once the layer is closing, exports make no further attempts: waiting out backoffs for a
      // collector that refuses connections would hold the program's exit for the whole budget.
      const sent = Effect.raceFirst(
        Transport.send(deps.client, target, body, { closing: closed }),
        Effect.as(Deferred.await(abandoned), { _tag: "Failed", reason: "the destination was failing when the layer closed", attempts: 0 } as const)
      )
      return Effect.map(sent, (outcome) => {
        if (outcome._tag === "Failed") return { accepted: 0, reason: outcome.reason }
        if (outcome.body.length === 0) return { accepted: spans.length }
        try {
          const partial = serializer.deserializeResponse(outcome.body).partialSuccess
          const rejected = Math.min(spans.length, Number(partial?.rejectedSpans ?? 0))
          return rejected === 0
            ? { accepted: spans.length }
            : { accepted: spans.length - rejected, reason: `the destination rejected ${rejected} spans: ${partial?.errorMessage ?? "no reason given"}` }
        } catch {
          // An answer that is not an export response still means the data arrived.
          return { accepted: spans.length }
        }
      })
    }).pipe(Effect.catchAllDefect((defect) => Effect.succeed({ accepted: 0, reason: `export failed: ${String(defect)}` })))

  const exporter: SpanExporter = {
    export(spans, done: (result: ExportResult) => void) {
      const count = spans.length
      stats.queued = Math.max(0, stats.queued - count)
      // Upstream defect: `BatchSpanProcessorBase._maybeStartTimer` (`@opentelemetry/sdk-trace`
      // 2.12.1, under sdk-trace-base's BatchSpanProcessor) chains `.finally(...).catch(...)` on
      // a batch's export; on a failure the `.finally` starts the next export (the queue holds a
      // full batch) and the `.catch` then clears `_isExporting` under it, so each failed export
      // lets one more run at once: with a collector down, exports (and the spans they hold)
      // would pile up. (Its export timeout also moves on while an export runs; `targetOf` keeps
      // our deadline within it.) Beyond the bound, a batch is dropped and counted here instead.
      if (stats.inFlight + count > maxInFlight) {
        stats.dropped += count
        deps.hooks.dropped(count)
        done({ code: ExportResultCode.FAILED })
        return
      }
      stats.inFlight += count
      if (stats.inFlight > stats.peakInFlight) stats.peakInFlight = stats.inFlight
      if (failFast) {
        settle(count, 0, "the destination was failing when the layer closed")
        done({ code: ExportResultCode.FAILED })
        return
      }
      let settled = false
      const finish = (accepted: number, reason: string | undefined) => {
        if (settled) return
        settled = true
        healthy = accepted > 0 || count === 0
        settle(count, accepted, reason)
        done(accepted === count ? { code: ExportResultCode.SUCCESS } : { code: ExportResultCode.FAILED, error: new Error(reason) })
      }
      const fiber = deps.fork(
        Effect.flatMap(Effect.yieldNow(), () => exportSpans(spans)).pipe(
          Effect.onExit((exit) =>
            Effect.sync(() =>
              exit._tag === "Success"
                ? finish(exit.value.accepted, exit.value.reason)
                : finish(0, "export abandoned: the shutdown's budget ran out")
            )
          ),
          Effect.asVoid
        )
      )
      // A fiber set that is already closed interrupts at once; say so to the processor too.
      fiber.addObserver((exit) => {
        if (exit._tag === "Failure") finish(0, "export abandoned: the shutdown's budget ran out")
      })
    },
    shutdown: () => Promise.resolve(),
    forceFlush: () => Promise.resolve()
  }

  const processor = new BatchSpanProcessor(exporter, processorOptions(batch))

  const gate: SpanProcessor = {
    onStart: () => {},
    onEnd(span) {
      if ((span.spanContext().traceFlags & 1) === 0) return
      if (closing || stats.queued >= batch.maxQueueSize) {
        stats.dropped++
        deps.hooks.dropped(1)
        return
      }
      stats.queued++
      if (stats.queued > stats.peakQueued) stats.peakQueued = stats.queued
      processor.onEnd(span)
    },
    forceFlush: () => processor.forceFlush(),
    shutdown: () => processor.shutdown()
  }

  return {
    destination,
    processor: gate,
    stats,
    healthy: () => healthy,
    beginShutdown: Effect.suspend(() => {
      closing = true
      failFast = !healthy
      return Effect.zipRight(Deferred.succeed(closed, undefined), failFast ? Deferred.succeed(abandoned, undefined) : Effect.void)
    })
  }
})
