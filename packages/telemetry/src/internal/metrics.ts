/**
 * The GenAI client metrics over OTLP: `gen_ai.client.token.usage`,
 * `gen_ai.client.operation.duration` and `gen_ai.client.operation.time_to_first_chunk`
 * histograms with the conventions' units, bucket advice and attributes, recorded from each
 * model call's span when it ends (sampled or not: metrics do not depend on trace sampling),
 * aggregated by the OpenTelemetry SDK's `MeterProvider`, and pushed by its periodic reader
 * through the same transport as the traces. The reader also collects the program's Effect
 * metrics (`@effect/opentelemetry`'s producer), so `EventMetrics` and the telemetry counters
 * arrive at the same collector.
 */
import * as OtelMetrics from "@effect/opentelemetry/Metrics"
import * as OtelResource from "@effect/opentelemetry/Resource"
import type * as HttpClient from "@effect/platform/HttpClient"
import type { Attributes } from "@opentelemetry/api"
import { type ExportResult, ExportResultCode } from "@opentelemetry/core"
import { JsonMetricsSerializer, ProtobufMetricsSerializer } from "@opentelemetry/otlp-transformer"
import type { Resource } from "@opentelemetry/resources"
import {
  AggregationTemporality,
  InstrumentType,
  MeterProvider,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
  type ResourceMetrics
} from "@opentelemetry/sdk-metrics"
import type * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as GenAi from "../GenAi.js"
import type * as TelemetryConfig from "../TelemetryConfig.js"
import type { Fork, Hooks } from "./pipeline.js"
import type { SdkSpan } from "./tracer.js"
import * as Transport from "./transport.js"

// The bucket boundaries the GenAI conventions advise.
const tokenBuckets = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864]
const secondsBuckets = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]

/** The running metrics. */
export interface GenAiMetrics {
  readonly provider: MeterProvider
  /** Records a span's metrics if it is a model call or an agent invocation. */
  readonly record: (span: SdkSpan) => void
  /** Whether the last export was accepted. */
  readonly healthy: () => boolean
  /** Shuts the provider down once (the reader's interval stops, a last export is made). */
  readonly shutdown: () => Promise<void>
  /**
   * For a shutdown that ran out of its budget: starts the provider's shutdown without waiting,
   * which stops the reader's interval at once (it would otherwise collect and export, and keep
   * the provider, for as long as the process lives); its last export is cut with the others.
   */
  readonly stop: () => void
}

/**
 * The periodic reader's interval and export timeout, and the transport target of one export.
 * The reader stops waiting for an export after its timeout and starts the next one an interval
 * later, whether or not the first has ended: an export's deadline is never beyond that timeout,
 * so exports to a collector that hangs do not pile up (with `OTEL_EXPORTER_OTLP_TIMEOUT=0` and
 * `OTEL_METRIC_EXPORT_TIMEOUT=0`, one more request per interval, forever).
 */
export const timingsOf = (settings: TelemetryConfig.MetricsDestination): {
  readonly intervalMillis: number
  readonly exportTimeoutMillis: number
  readonly target: Transport.Target
} => {
  const intervalMillis = Math.max(1, Math.min(2 ** 31 - 1, Duration.toMillis(settings.interval)))
  // The SDK refuses an export timeout beyond the interval.
  const exportTimeoutMillis = Math.max(1, Math.min(intervalMillis, Duration.toMillis(settings.exportTimeout)))
  return {
    intervalMillis,
    exportTimeoutMillis,
    target: {
      url: settings.url,
      headers: settings.headers,
      contentType: settings.protocol === "http/json" ? "application/json" : "application/x-protobuf",
      compression: settings.compression,
      timeout: Duration.min(settings.timeout, Duration.millis(exportTimeoutMillis))
    }
  }
}

const copy = (from: ReadonlyMap<string, unknown>, into: Attributes, key: string) => {
  const value = from.get(key)
  if (typeof value === "string" || typeof value === "number") into[key] = value
}

export const make = (
  settings: TelemetryConfig.MetricsDestination,
  resource: Resource,
  version: string,
  deps: {
    readonly client: HttpClient.HttpClient
    readonly fork: Fork
    readonly hooks: Pick<Hooks, "failed">
    /** Done when the layer starts closing: no further retries. */
    readonly closing: Deferred.Deferred<void>
  }
): Effect.Effect<GenAiMetrics> =>
  Effect.gen(function*() {
    const effectMetrics = yield* Effect.provideService(OtelMetrics.makeProducer, OtelResource.Resource, resource)
    const serializer = settings.protocol === "http/json" ? JsonMetricsSerializer : ProtobufMetricsSerializer
    const { exportTimeoutMillis, intervalMillis, target } = timingsOf(settings)
    let healthy = true
    const exporter: PushMetricExporter = {
      export(metrics: ResourceMetrics, done: (result: ExportResult) => void) {
        deps.fork(
          Effect.suspend(() => {
            const body = serializer.serializeRequest(metrics)
            return body === undefined
              ? Effect.succeed<Transport.Outcome>({ _tag: "Failed", reason: "the metrics could not be serialized", attempts: 0 })
              : Transport.send(deps.client, target, body, { closing: deps.closing })
          }).pipe(
            Effect.onExit((exit) =>
              Effect.sync(() => {
                healthy = exit._tag === "Success" && exit.value._tag === "Accepted"
                if (!healthy) {
                  const reason = exit._tag === "Success" && exit.value._tag === "Failed" ? exit.value.reason : "export abandoned"
                  deps.hooks.failed(0, `metrics: ${reason}`)
                }
                done({ code: healthy ? ExportResultCode.SUCCESS : ExportResultCode.FAILED })
              })
            ),
            Effect.asVoid
          )
        )
      },
      forceFlush: () => Promise.resolve(),
      shutdown: () => Promise.resolve(),
      selectAggregationTemporality: (type) =>
        settings.temporality === "delta" && type !== InstrumentType.UP_DOWN_COUNTER && type !== InstrumentType.OBSERVABLE_UP_DOWN_COUNTER
          ? AggregationTemporality.DELTA
          : AggregationTemporality.CUMULATIVE
    }
    const reader = new PeriodicExportingMetricReader({
      exporter,
      exportIntervalMillis: intervalMillis,
      exportTimeoutMillis,
      metricProducers: [effectMetrics]
    })
    const provider = new MeterProvider({ resource, readers: [reader] })
    const meter = provider.getMeter("@effect-dspy/telemetry", version)
    const tokenUsage = meter.createHistogram(GenAi.Metrics.tokenUsage, {
      unit: "{token}",
      description: "Number of input and output tokens used",
      advice: { explicitBucketBoundaries: tokenBuckets }
    })
    const duration = meter.createHistogram(GenAi.Metrics.operationDuration, {
      unit: "s",
      description: "GenAI operation duration",
      advice: { explicitBucketBoundaries: secondsBuckets }
    })
    const firstChunk = meter.createHistogram(GenAi.Metrics.timeToFirstChunk, {
      unit: "s",
      description: "Time to receive the first chunk of a streamed response",
      advice: { explicitBucketBoundaries: secondsBuckets }
    })

    const record = (span: SdkSpan) => {
      const attributes = span.attributes
      const operation = attributes.get(GenAi.Attributes.operationName)
      if (typeof operation !== "string") return
      const modelCall = GenAi.modelOperations.has(operation)
      if (!modelCall && operation !== "invoke_agent") return
      if (span.status._tag !== "Ended") return
      const common: Attributes = { [GenAi.Attributes.operationName]: operation }
      copy(attributes, common, GenAi.Attributes.providerName)
      copy(attributes, common, GenAi.Attributes.requestModel)
      copy(attributes, common, GenAi.Attributes.responseModel)
      copy(attributes, common, GenAi.Attributes.serverAddress)
      copy(attributes, common, GenAi.Attributes.serverPort)
      const seconds = Number(span.status.endTime - span.status.startTime) / 1e9
      const withError: Attributes = { ...common }
      copy(attributes, withError, GenAi.Attributes.errorType)
      duration.record(seconds, withError)
      // Agents' usage is the sum of their model calls': counted once, on the calls.
      if (!modelCall) return
      const input = attributes.get(GenAi.Attributes.usageInputTokens)
      if (typeof input === "number") tokenUsage.record(input, { ...common, [GenAi.Attributes.tokenType]: "input" })
      const output = attributes.get(GenAi.Attributes.usageOutputTokens)
      if (typeof output === "number") tokenUsage.record(output, { ...common, [GenAi.Attributes.tokenType]: "output" })
      const ttfc = attributes.get(GenAi.Attributes.responseTimeToFirstChunk)
      if (typeof ttfc === "number") firstChunk.record(ttfc, common)
    }
    let shutdown: Promise<void> | undefined = undefined
    const shutdownOnce = () => (shutdown ??= provider.shutdown().catch(() => undefined))
    return {
      provider,
      record,
      healthy: () => healthy,
      shutdown: shutdownOnce,
      stop: () => void shutdownOnce()
    }
  })
