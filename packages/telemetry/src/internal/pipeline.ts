/**
 * One export pipeline per destination, built from the OpenTelemetry SDK's own parts:
 *
 *   span end ─▶ bounded gate ─▶ BatchSpanProcessor ─▶ deferring exporter ─▶ OTLP delegate ─▶ transport
 *                (drops+counts)   (queue, batches,      (next macrotask,      (SDK serializer,    (HTTP POST,
 *                                  schedule)             scrubs secrets)       promise queue)      OTLP retries)
 *
 * What we add to the SDK: drop counting (the processor only reports drops to its diagnostic
 * logger), moving serialization and sending off the fiber that ended the span (the processor
 * exports synchronously from `onEnd` when a batch fills), scrubbing known secrets,
 * configuration only from Effect `Config` (the exporter's constructor also merges
 * `OTEL_EXPORTER_OTLP_HEADERS` from `process.env` into every exporter, which would send an OTLP
 * collector's credentials to Langfuse), and a bounded shutdown: exports in flight or started
 * during shutdown get the shutdown budget as their deadline and are abandoned when it runs
 * out (see `transport.ts` for why the transport is ours; its retry rules are the SDK's).
 */
import type { Attributes, AttributeValue } from "@opentelemetry/api"
import { type ExportResult, ExportResultCode } from "@opentelemetry/core"
import { createOtlpNetworkExportDelegate, type IOtlpExportDelegate } from "@opentelemetry/otlp-exporter-base"
import { createOtlpHttpExporterMetrics } from "@opentelemetry/otlp-exporter-base/node-http"
import {
  type IExportTraceServiceResponse,
  type ISerializer,
  JsonTraceSerializer,
  ProtobufTraceSerializer,
  TraceExporterMetricsHelper
} from "@opentelemetry/otlp-transformer"
import {
  BatchSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
  type SpanProcessor
} from "@opentelemetry/sdk-trace-base"
import * as Duration from "effect/Duration"
import * as Redacted from "effect/Redacted"
import type * as TelemetryConfig from "../TelemetryConfig.js"
import type { DeferredContent } from "./content.js"
import { encodeSpans } from "./protobuf.js"
import type { Scrubber } from "./redact.js"
import * as Transport from "./transport.js"

/** Counters of one destination; plain numbers, read by the layer's reporter. */
export interface Stats {
  /** Spans waiting in the processor's queue. */
  queued: number
  /** The most spans ever waiting at once. */
  peakQueued: number
  /** Spans handed to the exporter whose export has not finished. */
  inFlight: number
  /** Spans refused because the queue was full (or the layer was closing). */
  dropped: number
  /** Spans the destination accepted. */
  exported: number
  /** Spans whose export failed for good (after the retries the specification allows). */
  failed: number
  /** Export requests that failed for good. */
  failedExports: number
}

/** What the pipeline reports as it runs; called outside any fiber. */
export interface Hooks {
  readonly dropped: (count: number) => void
  readonly exported: (count: number) => void
  readonly failed: (count: number, error: Error | undefined) => void
}

/** One destination's pipeline. */
export interface Sink {
  readonly destination: TelemetryConfig.Destination
  readonly processor: SpanProcessor
  readonly stats: Stats
  /** From now on, refuse new spans and give every export, in flight or new, at most `budget` to finish. */
  readonly beginShutdown: (budget: Duration.Duration) => void
  /** Fails whatever is still in flight at once and frees its timers and sockets. */
  readonly abandon: () => void
}

const userAgent = "effect-dspy-telemetry/0.1.0 OTel-OTLP-Exporter-JavaScript/0.223.1"

/**
 * The protobuf serializer: ours (see `protobuf.ts` for why), rendering deferred content and
 * scrubbing secrets as it writes; the SDK's for the export service's response.
 */
const protobufSerializer = (
  content: DeferredContent | undefined,
  scrub: Scrubber | undefined
): ISerializer<Array<ReadableSpan>, IExportTraceServiceResponse> => {
  let sizeHint = 65536
  return {
    serializeRequest: (spans) => {
      const bytes = encodeSpans(spans, content?.attributesFor, scrub, sizeHint)
      sizeHint = bytes.length + (bytes.length >>> 3)
      return bytes
    },
    deserializeResponse: (data) => ProtobufTraceSerializer.deserializeResponse(data)
  }
}

const makeDelegate = (
  destination: TelemetryConfig.Destination,
  batch: TelemetryConfig.Batch,
  transport: Transport.AbandonableTransport,
  serializer: ISerializer<Array<ReadableSpan>, IExportTraceServiceResponse>
): IOtlpExportDelegate<Array<ReadableSpan>> =>
  createOtlpNetworkExportDelegate(
    {
      // A flush exports every queued batch at once (plus the one in flight); refusing any of
      // them would lose spans that fit in the queue.
      concurrencyLimit: Math.ceil(batch.maxQueueSize / Math.max(1, Math.min(batch.maxExportBatchSize, batch.maxQueueSize))) + 2,
      timeoutMillis: Math.max(1, Math.round(Duration.toMillis(destination.timeout))),
      compression: destination.compression
    },
    serializer,
    createOtlpHttpExporterMetrics("otlp_http_span_exporter", TraceExporterMetricsHelper, destination.url, undefined),
    transport
  )

const makeTransport = (destination: TelemetryConfig.Destination): Transport.AbandonableTransport => {
  const json = destination.protocol === "http/json"
  const headerEntries = Object.entries(destination.headers)
  return Transport.make({
    url: destination.url,
    // Read out of Redacted only when a request is built.
    headers: () => {
      const headers: Record<string, string> = {}
      for (const [key, value] of headerEntries) headers[key] = Redacted.value(value)
      headers["Content-Type"] = json ? "application/json" : "application/x-protobuf"
      return headers
    },
    compression: destination.compression,
    userAgent
  })
}

const scrubValue = (value: AttributeValue | undefined, scrub: Scrubber): AttributeValue | undefined => {
  if (typeof value === "string") return scrub.apply(value)
  if (Array.isArray(value)) return value.map((v: unknown) => (typeof v === "string" ? scrub.apply(v) : v)) as AttributeValue
  return value
}

const attributesNeedScrub = (attributes: Attributes | undefined, scrub: Scrubber): boolean => {
  if (attributes === undefined) return false
  for (const key in attributes) {
    const value = attributes[key]
    if (typeof value === "string" ? scrub.test(value) : Array.isArray(value) && value.some((v: unknown) => typeof v === "string" && scrub.test(v))) {
      return true
    }
  }
  return false
}

const scrubAttributes = (attributes: Attributes, scrub: Scrubber): Attributes => {
  const out: Attributes = {}
  for (const key in attributes) out[key] = scrubValue(attributes[key], scrub)
  return out
}

const needsScrub = (span: ReadableSpan, scrub: Scrubber): boolean =>
  scrub.test(span.name) ||
  (span.status.message !== undefined && scrub.test(span.status.message)) ||
  attributesNeedScrub(span.attributes, scrub) ||
  span.events.some((e) => scrub.test(e.name) || attributesNeedScrub(e.attributes, scrub))

/** A copy of a span (the SDK's span is a class whose getters a spread would lose). */
const copySpan = (span: ReadableSpan, changes: Partial<Pick<ReadableSpan, "name" | "status" | "attributes" | "events">>): ReadableSpan => ({
  name: changes.name ?? span.name,
  kind: span.kind,
  spanContext: () => span.spanContext(),
  ...(span.parentSpanContext === undefined ? {} : { parentSpanContext: span.parentSpanContext }),
  startTime: span.startTime,
  endTime: span.endTime,
  status: changes.status ?? span.status,
  attributes: changes.attributes ?? span.attributes,
  links: span.links,
  events: changes.events ?? span.events,
  duration: span.duration,
  ended: span.ended,
  resource: span.resource,
  instrumentationScope: span.instrumentationScope,
  droppedAttributesCount: span.droppedAttributesCount,
  droppedEventsCount: span.droppedEventsCount,
  droppedLinksCount: span.droppedLinksCount
})

/** A copy of the span with every known secret replaced, or the span itself when it has none. */
export const scrubSpan = (span: ReadableSpan, scrub: Scrubber): ReadableSpan => {
  if (!needsScrub(span, scrub)) return span
  return copySpan(span, {
    name: scrub.apply(span.name),
    status: span.status.message === undefined ? span.status : { ...span.status, message: scrub.apply(span.status.message) },
    attributes: scrubAttributes(span.attributes, scrub),
    events: span.events.map((event) => ({
      ...event,
      name: scrub.apply(event.name),
      ...(event.attributes === undefined ? {} : { attributes: scrubAttributes(event.attributes, scrub) })
    }))
  })
}

/** Prepares a span for export: deferred content rendered in, then known secrets scrubbed. */
export const prepareSpan = (
  span: ReadableSpan,
  content: DeferredContent | undefined,
  scrub: Scrubber | undefined
): ReadableSpan => {
  const extra = content?.attributesFor(span)
  const withContent = extra === undefined ? span : copySpan(span, { attributes: { ...span.attributes, ...extra } })
  return scrub === undefined ? withContent : scrubSpan(withContent, scrub)
}

/** Builds the pipeline of one destination. */
export const makeSink = (
  destination: TelemetryConfig.Destination,
  batch: TelemetryConfig.Batch,
  prepare: { readonly content: DeferredContent | undefined; readonly scrub: Scrubber | undefined },
  hooks: Hooks
): Sink => {
  const stats: Stats = { queued: 0, peakQueued: 0, inFlight: 0, dropped: 0, exported: 0, failed: 0, failedExports: 0 }
  const transport = makeTransport(destination)
  // JSON: the SDK's serializer, over spans with their content rendered in and secrets scrubbed.
  const json = destination.protocol === "http/json"
  const delegate = makeDelegate(
    destination,
    batch,
    transport,
    json ? JsonTraceSerializer : protobufSerializer(prepare.content, prepare.scrub)
  )
  const needsPreparing = json && (prepare.content !== undefined || prepare.scrub !== undefined)
  let closing = false

  const finish = (count: number) => (result: ExportResult) => {
    stats.inFlight -= count
    if (result.code === ExportResultCode.SUCCESS) {
      stats.exported += count
      hooks.exported(count)
    } else {
      stats.failed += count
      stats.failedExports++
      hooks.failed(count, result.error)
    }
  }

  const exporter: SpanExporter = {
    export(spans, done) {
      const count = spans.length
      stats.queued = Math.max(0, stats.queued - count)
      stats.inFlight += count
      const report = finish(count)
      // The processor calls this synchronously from `onEnd` when a batch fills, i.e. on the
      // fiber that ended the span: serialize and send on a later macrotask instead.
      setImmediate(() => {
        let settled = false
        const once = (result: ExportResult) => {
          if (settled) return
          settled = true
          report(result)
          done(result)
        }
        try {
          const ready = needsPreparing ? spans.map((span) => prepareSpan(span, prepare.content, prepare.scrub)) : spans
          delegate.export(ready, once)
        } catch (error) {
          once({ code: ExportResultCode.FAILED, error: error instanceof Error ? error : new Error(String(error)) })
        }
      })
    },
    forceFlush: () => delegate.forceFlush(),
    shutdown: () => delegate.shutdown()
  }

  const processor = new BatchSpanProcessor(exporter, {
    maxQueueSize: batch.maxQueueSize,
    maxExportBatchSize: Math.min(batch.maxExportBatchSize, batch.maxQueueSize),
    scheduledDelayMillis: Duration.toMillis(batch.scheduleDelay),
    exportTimeoutMillis: Duration.toMillis(batch.exportTimeout)
  })

  const gate: SpanProcessor = {
    onStart: () => {},
    onEnd(span) {
      if ((span.spanContext().traceFlags & 1) === 0) return
      if (closing || stats.queued >= batch.maxQueueSize) {
        stats.dropped++
        hooks.dropped(1)
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
    beginShutdown: (budget) => {
      if (closing) return
      closing = true
      transport.capDeadline(Date.now() + Duration.toMillis(budget))
    },
    abandon: transport.abandon
  }
}
