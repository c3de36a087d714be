/**
 * Tracing and metrics as Effect layers. Modules, LM calls and tools make spans with Effect's
 * tracer; these layers record them with the OpenTelemetry SDK and export them over OTLP (any
 * collector) and to Langfuse, in the background, through a bounded queue that drops and
 * counts when full, and flush what is queued when the layer's scope closes. With an OTLP
 * endpoint they also push the GenAI client metrics.
 *
 * @since 0.1.0
 */
import { GenAiSpan } from "@effect-dspy/core"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import { CurrentSpanTransformer, type SpanTransformer } from "@effect/ai/Telemetry"
import { defaultResource, resourceFromAttributes } from "@opentelemetry/resources"
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  ParentBasedSampler,
  type Sampler,
  TraceIdRatioBasedSampler
} from "@opentelemetry/sdk-trace-base"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Runtime from "effect/Runtime"
import * as Schedule from "effect/Schedule"
import { Redaction } from "@effect-dspy/core"
import type * as ContentCapture from "./ContentCapture.js"
import * as GenAi from "./GenAi.js"
import * as Langfuse from "./Langfuse.js"
import * as TelemetryConfig from "./TelemetryConfig.js"
import * as Content from "./internal/content.js"
import * as GenAiMetrics from "./internal/metrics.js"
import * as Pipeline from "./internal/pipeline.js"
import * as InternalTracer from "./internal/tracer.js"

const version = "0.2.0"
const scopeName = "@effect-dspy/telemetry"

/**
 * Export counters of one destination, in spans.
 *
 * @since 0.1.0
 */
export interface DestinationStats {
  readonly name: string
  /** The destination's URL, with any credentials in it redacted. */
  readonly url: string
  /** Waiting in the export queue now. */
  readonly queued: number
  /** The most that ever waited at once (never above the queue's maximum). */
  readonly peakQueued: number
  /** In an export request that has not finished. */
  readonly inFlight: number
  /** The most that were ever in export requests at once (never above the queue's maximum plus one batch). */
  readonly peakInFlight: number
  /** Refused because the queue was full, or because the layer was closing. */
  readonly dropped: number
  /** Accepted by the destination. */
  readonly exported: number
  /** Not accepted: failed for good, rejected by the destination, or abandoned at shutdown. */
  readonly failed: number
}

/**
 * The running telemetry.
 *
 * @since 0.1.0
 */
export interface Service {
  /** False when nothing is exported (no destination, or `OTEL_SDK_DISABLED`). */
  readonly enabled: boolean
  /** Where spans go: names and URLs (credentials redacted, never headers). */
  readonly destinations: ReadonlyArray<{ readonly name: string; readonly url: string }>
  /** Export counters per destination. */
  readonly stats: Effect.Effect<ReadonlyArray<DestinationStats>>
  /** Exports everything queued now, spans and metrics, and waits for it (e.g. before a serverless function freezes). */
  readonly flush: Effect.Effect<void>
}

/**
 * The telemetry in context.
 *
 * @since 0.1.0
 */
export class Telemetry extends Context.Tag("@effect-dspy/telemetry/Telemetry")<Telemetry, Service>() {}

/**
 * Spans accepted by a destination, tagged `destination`.
 *
 * @since 0.1.0
 */
export const spansExported = Metric.counter("effect_dspy_telemetry_spans_exported_total", {
  description: "Spans accepted by the telemetry destination",
  incremental: true
})

/**
 * Spans dropped because the export queue was full or the layer was closing, tagged `destination`.
 *
 * @since 0.1.0
 */
export const spansDropped = Metric.counter("effect_dspy_telemetry_spans_dropped_total", {
  description: "Spans dropped because the export queue was full",
  incremental: true
})

/**
 * Spans not accepted by a destination (failed for good, rejected, abandoned), tagged `destination`.
 *
 * @since 0.1.0
 */
export const spansFailed = Metric.counter("effect_dspy_telemetry_spans_failed_total", {
  description: "Spans whose export failed for good",
  incremental: true
})

const disabledService: Service = {
  enabled: false,
  destinations: [],
  stats: Effect.succeed([]),
  flush: Effect.void
}

// Header values are credentials; so are the tokens inside `Basic`/`Bearer` values.
const headerSecrets = (headers: ReadonlyArray<Redacted.Redacted<string>>): Array<Redacted.Redacted<string>> =>
  headers.flatMap((header) => {
    const token = /^(?:Basic|Bearer)\s+(.+)$/i.exec(Redacted.value(header))?.[1]
    return token === undefined ? [header] : [header, Redacted.make(token)]
  })

const samplerOf = (sampler: TelemetryConfig.Sampler): Sampler => {
  switch (sampler.name) {
    case "always_on":
      return new AlwaysOnSampler()
    case "always_off":
      return new AlwaysOffSampler()
    case "traceidratio":
      return new TraceIdRatioBasedSampler(sampler.ratio)
    case "parentbased_always_on":
      return new ParentBasedSampler({ root: new AlwaysOnSampler() })
    case "parentbased_always_off":
      return new ParentBasedSampler({ root: new AlwaysOffSampler() })
    case "parentbased_traceidratio":
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(sampler.ratio) })
  }
}

/**
 * `@effect/ai`'s span transformer: inside core's LM span, the response's model and id onto it
 * (core hands the content over itself); around a `LanguageModel` call made outside core, the
 * call's prompt and response as its content.
 */
const spanTransformer: SpanTransformer = (options) => {
  const span = options.span
  const recorder = InternalTracer.recorderOf(span)
  if (recorder === undefined) return
  for (const part of options.response) {
    if (part.type !== "response-metadata") continue
    if (Option.isSome(part.modelId) && !recorder.attributes.has(GenAi.Attributes.responseModel)) {
      recorder.attribute(GenAi.Attributes.responseModel, part.modelId.value)
    }
    if (Option.isSome(part.id) && !recorder.attributes.has(GenAi.Attributes.responseId)) recorder.attribute(GenAi.Attributes.responseId, part.id.value)
  }
  if (recorder === span) recorder.captureCall(options.prompt, options.response)
}

const contentSink: GenAiSpan.ContentSink = (span, value, info) => {
  if (span instanceof InternalTracer.SdkSpan) span.capture(value, info)
}

const make = (settings: TelemetryConfig.Settings) =>
  Effect.gen(function*() {
    for (const warning of settings.warnings) yield* Effect.logWarning(`telemetry: ${warning}`)
    if (!settings.enabled || (settings.destinations.length === 0 && settings.metrics === undefined)) {
      // Only the service: a span transformer or content sink of the user's stays in force.
      return Layer.succeed(Telemetry, disabledService)
    }
    const runtime = yield* Effect.runtime<never>()
    const runFork = Runtime.runFork(runtime)
    const client = yield* Effect.provide(HttpClient.HttpClient, FetchHttpClient.layer)
    const exports = yield* FiberSet.make<void>()
    const fork = yield* FiberSet.runtime(exports)<never>()
    const secrets = [
      ...settings.secrets,
      ...headerSecrets([...settings.destinations, ...(settings.metrics === undefined ? [] : [settings.metrics])].flatMap((d) => Object.values(d.headers)))
    ]
    const scrubber = Redaction.makeScrubber(secrets)
    const clean = (text: string) => scrubber.apply(text)

    // Per destination: whether exports are failing, whether a burst of drops was logged.
    const states = settings.destinations.map(() => ({ healthy: true, dropping: false }))
    const sinks = yield* Effect.forEach(settings.destinations, (destination, index) => {
      const state = states[index]!
      const exported = Metric.tagged(spansExported, "destination", destination.name)
      const dropped = Metric.tagged(spansDropped, "destination", destination.name)
      const failed = Metric.tagged(spansFailed, "destination", destination.name)
      return Pipeline.make(destination, settings.batch, {
        client,
        fork,
        secrets,
        hooks: {
          dropped: (count) => {
            dropped.unsafeUpdate(count, [])
            // One line when a burst of drops starts; the reporter summarises the rest.
            if (state.dropping) return
            state.dropping = true
            runFork(Effect.logWarning(
              `telemetry: the export queue for ${destination.name} is full (${settings.batch.maxQueueSize} spans); ` +
                "dropping new spans until it drains (counted in effect_dspy_telemetry_spans_dropped_total)"
            ))
          },
          exported: (count) => {
            exported.unsafeUpdate(count, [])
            if (state.healthy) return
            state.healthy = true
            runFork(Effect.logInfo(`telemetry: export to ${destination.name} recovered`))
          },
          failed: (count, reason) => {
            failed.unsafeUpdate(count, [])
            // One line when exports start failing; the reporter summarises the rest.
            if (!state.healthy) return
            state.healthy = false
            runFork(Effect.logWarning(
              `telemetry: export of ${count} spans to ${destination.name} failed: ${clean(reason)}; ` +
                "the program is unaffected, spans that cannot be exported are counted and dropped"
            ))
          }
        }
      })
    })

    const resource = defaultResource().merge(resourceFromAttributes({
      ...settings.resourceAttributes,
      "service.name": settings.serviceName
    }))
    const provider = new BasicTracerProvider({
      resource,
      // Also with metrics alone: the sampler decides the sampled flag that outgoing `traceparent`
      // headers carry, and downstream services sample by it (`parentbased_*`).
      sampler: samplerOf(settings.sampler),
      spanProcessors: sinks.map((sink) => sink.processor)
    })
    let metricsFailing = false
    const closing = yield* Deferred.make<void>()
    const metrics = settings.metrics === undefined ? undefined : yield* GenAiMetrics.make(settings.metrics, resource, version, {
      client,
      fork,
      closing,
      hooks: {
        failed: (_count, reason) => {
          if (metricsFailing) return
          metricsFailing = true
          runFork(Effect.logWarning(`telemetry: metrics export failed: ${clean(reason)}; the program is unaffected`))
        }
      }
    })
    const content = sinks.length === 0 ? undefined : Content.makePolicy(settings.content, secrets)
    const tracer = InternalTracer.make({
      tracer: provider.getTracer(scopeName, version),
      // Metrics alone: spans are made for their metrics and their sampling decision, never recorded.
      exporting: sinks.length > 0,
      content,
      onEnd: metrics?.record,
      propagate: InternalTracer.contextPropagates()
    })

    // Summarise drops and failures periodically instead of logging each one.
    const reported = sinks.map(() => ({ dropped: 0, failed: 0 }))
    const report = Effect.forEach(sinks, (sink, i) => {
      const last = reported[i]!
      const dropped = sink.stats.dropped - last.dropped
      const failed = sink.stats.failed - last.failed
      last.dropped = sink.stats.dropped
      last.failed = sink.stats.failed
      states[i]!.dropping = false
      if (dropped === 0 && failed === 0) return Effect.void
      return Effect.logWarning(
        `telemetry: ${sink.destination.name}: ${dropped} spans dropped (export queue full at ${settings.batch.maxQueueSize}), ` +
          `${failed} spans failed to export since the last report`
      )
    }, { discard: true })
    yield* report.pipe(Effect.repeat(Schedule.spaced(settings.reportInterval)), Effect.delay(settings.reportInterval), Effect.forkScoped)

    const shutdown = Effect.gen(function*() {
      // New spans are refused from here on; a destination that is failing gets no final flush.
      for (const sink of sinks) yield* sink.beginShutdown
      yield* Deferred.succeed(closing, undefined)
      // Spans first, so that the last metrics include the telemetry's own export counters.
      const finished = yield* Effect.promise(() => provider.shutdown().catch(() => undefined)).pipe(
        // One failed batch settles the processor's flush at once: the others still get the budget.
        Effect.zipRight(FiberSet.awaitEmpty(exports)),
        Effect.zipRight(Effect.promise(() => metrics?.shutdown() ?? Promise.resolve())),
        Effect.zipRight(FiberSet.awaitEmpty(exports)),
        Effect.interruptible,
        Effect.timeoutOption(settings.shutdownTimeout)
      )
      // Nothing may outlive the budget: an export in flight (a request, a retry's wait) would keep
      // the process alive after the program ends, and the metric reader's interval would go on.
      metrics?.stop()
      yield* FiberSet.clear(exports)
      if (Option.isNone(finished)) {
        yield* Effect.logWarning(`telemetry: shutdown did not finish within ${Duration.format(settings.shutdownTimeout)}; what was left is counted below`)
      }
      for (const sink of sinks) {
        const { dropped, exported, failed, inFlight, queued } = sink.stats
        const left = queued + inFlight
        const line = `telemetry: ${sink.destination.name}: ${exported} spans exported, ${dropped} dropped, ${failed} failed` +
          (left > 0 ? `, ${left} not exported` : "")
        yield* dropped + failed + left > 0 ? Effect.logWarning(line) : Effect.logDebug(line)
      }
    })
    yield* Effect.addFinalizer(() => shutdown)

    const service: Service = {
      enabled: true,
      destinations: sinks.map((sink) => ({ name: sink.destination.name, url: Redaction.url(sink.destination.url) })),
      stats: Effect.sync(() =>
        sinks.map((sink): DestinationStats => ({
          name: sink.destination.name,
          url: Redaction.url(sink.destination.url),
          ...sink.stats
        }))
      ),
      flush: Effect.promise(() => Promise.allSettled([provider.forceFlush(), metrics?.provider.forceFlush()])).pipe(
        Effect.zipRight(FiberSet.awaitEmpty(exports)),
        Effect.interruptible
      )
    }
    return Layer.mergeAll(
      Layer.setTracer(tracer),
      Layer.succeedContext(
        // The content sink only when content is captured: every entry of a fiber's context is
        // copied each time a call changes the context (each span, each service provided), and
        // one more entry cost a ChainOfThought call about 3 KiB of allocation (176.8-177.1
        // against 179.6-180.6 KiB per call, cpu.ts --alloc true, no-content mode) for a sink
        // that would keep nothing.
        content === undefined
          ? Context.make(Telemetry, service).pipe(Context.add(CurrentSpanTransformer, spanTransformer))
          : Context.make(Telemetry, service).pipe(
            Context.add(CurrentSpanTransformer, spanTransformer),
            Context.add(GenAiSpan.CurrentContentSink, contentSink)
          )
      )
    )
  })

/**
 * What the telemetry layers provide: the service. A layer that exports also sets the tracer,
 * `@effect/ai`'s span transformer and, when it captures content, core's span-content sink
 * (neither is ever required); one
 * that does not leaves them as they were, a user's own included.
 *
 * @since 0.1.0
 */
export type Provides = Telemetry

/**
 * Tracing with explicit settings. Without destinations (or with `enabled: false`) it is
 * `Layer.empty`-like: Effect's own tracer stays, nothing is exported, nothing is rendered.
 *
 * @since 0.1.0
 */
export const layer = (settings: TelemetryConfig.Settings): Layer.Layer<Provides> => Layer.unwrapScoped(make(settings))

/**
 * Tracing and metrics configured from the environment (through Effect `Config`): OTLP when
 * `OTEL_EXPORTER_OTLP_[TRACES_|METRICS_]ENDPOINT` is set, Langfuse when `LANGFUSE_PUBLIC_KEY` and
 * `LANGFUSE_SECRET_KEY` are set (both at once export to both), nothing when neither is set or
 * `OTEL_SDK_DISABLED=true`. A value that cannot be used is logged as a warning and ignored; the
 * program runs. See `TelemetryConfig` for every variable.
 *
 * @example
 * ```ts
 * import { Predict, Signature } from "@effect-dspy/core"
 * import { Telemetry } from "@effect-dspy/telemetry"
 * import { Effect } from "effect"
 *
 * const qa = Predict.make(Signature.fromString("question -> answer"))
 * // spans go to the endpoints configured in the environment; with none, tracing costs nothing
 * const traced = qa({ question: "Why is the sky blue?" }).pipe(Effect.provide(Telemetry.layerFromEnv))
 * ```
 *
 * @since 0.1.0
 */
export const layerFromEnv: Layer.Layer<Provides> = Layer.unwrapScoped(
  Effect.flatMap(
    Effect.catchAll(TelemetryConfig.fromEnv, (error) =>
      Effect.as(
        Effect.logWarning(`telemetry: the configuration could not be read (${error.message}); nothing is exported`),
        TelemetryConfig.make({ destinations: [], enabled: false })
      )),
    make
  )
)

/**
 * Options shared by the explicit constructors.
 *
 * @since 0.1.0
 */
export interface CommonOptions {
  readonly serviceName?: string | undefined
  readonly resourceAttributes?: Readonly<Record<string, string>> | undefined
  readonly sampler?: TelemetryConfig.Sampler | undefined
  readonly batch?: Partial<TelemetryConfig.Batch> | undefined
  readonly shutdownTimeout?: Duration.DurationInput | undefined
  readonly reportInterval?: Duration.DurationInput | undefined
  readonly content?: ContentCapture.Options | undefined
  /** More values to replace in every exported span (API keys the program uses). */
  readonly secrets?: ReadonlyArray<Redacted.Redacted<string>> | undefined
}

/**
 * Options of `layerOtlp`.
 *
 * @since 0.1.0
 */
export interface OtlpOptions extends CommonOptions {
  /** The full traces URL, e.g. `http://localhost:4318/v1/traces`. */
  readonly url: string
  readonly headers?: Readonly<Record<string, string | Redacted.Redacted<string>>> | undefined
  readonly protocol?: TelemetryConfig.Protocol | undefined
  readonly compression?: TelemetryConfig.Compression | undefined
  /** Deadline of one export, its retries included (default 10 s). */
  readonly timeout?: Duration.DurationInput | undefined
  /** The destination's name in logs and metrics (default `otlp`). */
  readonly name?: string | undefined
  /**
   * Push the GenAI metrics too: `true` to the `/v1/metrics` URL beside a `/v1/traces` one,
   * or their own URL and interval (default: off).
   */
  readonly metrics?: boolean | { readonly url?: string | undefined; readonly interval?: Duration.DurationInput | undefined } | undefined
}

const metricsOf = (
  options: OtlpOptions,
  destination: TelemetryConfig.Destination
): { readonly metrics: TelemetryConfig.MetricsDestination | undefined; readonly warnings: ReadonlyArray<string> } => {
  if (options.metrics === undefined || options.metrics === false) return { metrics: undefined, warnings: [] }
  const custom = options.metrics === true ? {} : options.metrics
  const url = custom.url ?? (options.url.includes("/v1/traces") ? options.url.replace("/v1/traces", "/v1/metrics") : undefined)
  if (url === undefined) {
    return {
      metrics: undefined,
      warnings: [
        `metrics were asked for, but the traces URL (${Redaction.url(options.url)}) has no /v1/traces to put /v1/metrics in its place; ` +
        "no metrics are exported (give metrics: { url })"
      ]
    }
  }
  const metrics: TelemetryConfig.MetricsDestination = {
    url,
    headers: destination.headers,
    protocol: destination.protocol,
    compression: destination.compression,
    timeout: destination.timeout,
    interval: Duration.decode(custom.interval ?? Duration.minutes(1)),
    exportTimeout: Duration.seconds(30),
    temporality: "cumulative"
  }
  return { metrics, warnings: [] }
}

const settingsOf = (
  destination: TelemetryConfig.Destination,
  options: CommonOptions,
  metrics: TelemetryConfig.MetricsDestination | undefined = undefined,
  warnings: ReadonlyArray<string> = []
): TelemetryConfig.Settings =>
  TelemetryConfig.make({
    destinations: [destination],
    metrics,
    warnings,
    serviceName: options.serviceName,
    resourceAttributes: options.resourceAttributes,
    sampler: options.sampler,
    batch: options.batch,
    shutdownTimeout: options.shutdownTimeout,
    reportInterval: options.reportInterval,
    content: options.content,
    secrets: options.secrets
  })

/**
 * Tracing exported over OTLP/HTTP to a collector, configured in code (no environment).
 *
 * @example
 * ```ts
 * import { Telemetry } from "@effect-dspy/telemetry"
 * const TracingLive = Telemetry.layerOtlp({ url: "http://localhost:4318/v1/traces", serviceName: "triage", metrics: true })
 * ```
 *
 * @since 0.1.0
 */
export const layerOtlp = (options: OtlpOptions): Layer.Layer<Provides> => {
  const destination = TelemetryConfig.otlpDestination(options)
  const { metrics, warnings } = metricsOf(options, destination)
  return layer(settingsOf(destination, options, metrics, warnings))
}

/**
 * Options of `layerLangfuse`.
 *
 * @since 0.1.0
 */
export interface LangfuseOptions extends CommonOptions, Langfuse.Options {}

/**
 * Tracing exported to Langfuse, configured in code.
 *
 * @example
 * ```ts
 * import { Telemetry } from "@effect-dspy/telemetry"
 * import { Redacted } from "effect"
 * const TracingLive = Telemetry.layerLangfuse({
 *   publicKey: "pk-lf-...",
 *   secretKey: Redacted.make("sk-lf-..."),
 *   baseUrl: "https://cloud.langfuse.com",
 *   environment: "staging"
 * })
 * ```
 *
 * @since 0.1.0
 */
export const layerLangfuse = (options: LangfuseOptions): Layer.Layer<Provides> =>
  layer(settingsOf(Langfuse.destination(options), { ...options, secrets: [...(options.secrets ?? []), options.secretKey] }))

/**
 * Exports everything queued now (a no-op when tracing is off).
 *
 * @since 0.1.0
 */
export const flush: Effect.Effect<void, never, Telemetry> = Effect.flatMap(Telemetry, (t) => t.flush)

/**
 * Who and what a trace belongs to.
 *
 * @since 0.1.0
 */
export interface Session {
  readonly sessionId?: string | undefined
  readonly userId?: string | undefined
  /** The trace's name in Langfuse (default: the root span's name). */
  readonly traceName?: string | undefined
  readonly tags?: ReadonlyArray<string> | undefined
}

const sessionAttributes = (session: Session): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  if (session.sessionId !== undefined) {
    out[Langfuse.Attributes.sessionId] = session.sessionId
    out["session.id"] = session.sessionId
  }
  if (session.userId !== undefined) {
    out[Langfuse.Attributes.userId] = session.userId
    out["user.id"] = session.userId
  }
  if (session.traceName !== undefined) out[Langfuse.Attributes.traceName] = session.traceName
  if (session.tags !== undefined && session.tags.length > 0) out[Langfuse.Attributes.traceTags] = [...session.tags]
  return out
}

/**
 * Annotates the current span and every span created inside with the session and user ids
 * (Langfuse groups traces by session), the trace name and tags.
 *
 * @example
 * ```ts
 * import { Telemetry } from "@effect-dspy/telemetry"
 * import { Effect } from "effect"
 * const handle = Effect.succeed("hello")
 * const traced = handle.pipe(Telemetry.withSession({ sessionId: "chat-42", userId: "ada" }))
 * ```
 *
 * @since 0.1.0
 */
export const withSession: {
  (session: Session): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, session: Session): Effect.Effect<A, E, R>
} = dual(2, <A, E, R>(self: Effect.Effect<A, E, R>, session: Session): Effect.Effect<A, E, R> => {
  const attributes = sessionAttributes(session)
  return Effect.zipRight(Effect.annotateCurrentSpan(attributes), Effect.annotateSpans(self, attributes))
})
