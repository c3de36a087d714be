/**
 * Tracing as Effect layers. Modules, LM calls and tools already make spans with Effect's own
 * tracer; these layers export them over OTLP (any collector) and to Langfuse, in the
 * background, through a bounded queue that drops and counts when full, and flush what is
 * queued when the layer's scope closes.
 *
 * @since 0.1.0
 */
import { GenAiSpan } from "@effect-dspy/core"
import { CurrentSpanTransformer } from "@effect/ai/Telemetry"
import { resourceFromAttributes } from "@opentelemetry/resources"
import { BasicTracerProvider } from "@opentelemetry/sdk-trace-base"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Runtime from "effect/Runtime"
import * as Schedule from "effect/Schedule"
import * as Langfuse from "./Langfuse.js"
import * as SpanContent from "./SpanContent.js"
import * as TelemetryConfig from "./TelemetryConfig.js"
import * as DeferredContent from "./internal/content.js"
import { makeSink, type Sink } from "./internal/pipeline.js"
import { makeScrubber, redactPatterns } from "./internal/redact.js"
import * as InternalTracer from "./internal/tracer.js"

/** The package version, reported as the instrumentation scope version. */
export const version = "0.1.0"

/** Export counters of one destination. */
export interface DestinationStats {
  readonly name: string
  readonly url: string
  /** Spans waiting in the export queue now. */
  readonly queued: number
  /** The most spans that ever waited at once (never above the queue's maximum). */
  readonly peakQueued: number
  /** Spans in an export request that has not finished. */
  readonly inFlight: number
  /** Spans refused because the queue was full, or because the layer was closing. */
  readonly dropped: number
  /** Spans the destination accepted. */
  readonly exported: number
  /** Spans whose export failed for good. */
  readonly failed: number
}

/** The running telemetry. */
export interface Service {
  /** False when nothing is exported (no destination, or `OTEL_SDK_DISABLED`). */
  readonly enabled: boolean
  /** Where spans go: names and URLs (never headers). */
  readonly destinations: ReadonlyArray<{ readonly name: string; readonly url: string }>
  /** Export counters per destination. */
  readonly stats: Effect.Effect<ReadonlyArray<DestinationStats>>
  /** Exports everything queued now and waits for it (e.g. before a serverless function freezes). */
  readonly flush: Effect.Effect<void>
}

/** The telemetry in context. */
export class Telemetry extends Context.Tag("@effect-dspy/telemetry/Telemetry")<Telemetry, Service>() {}

/**
 * What the telemetry layers provide: the service. A layer that exports also sets the tracer,
 * `@effect/ai`'s span transformer and core's span-content sink (neither is ever required); one
 * that does not leaves them as they were, a user's own included.
 */
export type Provides = Telemetry

/** Spans accepted by a destination, tagged `destination`. */
export const spansExported = Metric.counter("effect_dspy_telemetry_spans_exported_total", {
  description: "Spans accepted by the telemetry destination",
  incremental: true
})

/** Spans dropped because the export queue was full, tagged `destination`. */
export const spansDropped = Metric.counter("effect_dspy_telemetry_spans_dropped_total", {
  description: "Spans dropped because the export queue was full",
  incremental: true
})

/** Spans whose export failed after the retries the OTLP specification allows, tagged `destination`. */
export const spansFailed = Metric.counter("effect_dspy_telemetry_spans_failed_total", {
  description: "Spans whose export failed for good",
  incremental: true
})

const statsOf = (sink: Sink): DestinationStats => ({
  name: sink.destination.name,
  url: sink.destination.url,
  queued: sink.stats.queued,
  peakQueued: sink.stats.peakQueued,
  inFlight: sink.stats.inFlight,
  dropped: sink.stats.dropped,
  exported: sink.stats.exported,
  failed: sink.stats.failed
})

const describeError = (error: Error | undefined): string => {
  if (error === undefined) return "unknown error"
  const code: unknown = Reflect.get(error, "code")
  const suffix = typeof code === "number" ? ` (HTTP ${code})` : typeof code === "string" ? ` (${code})` : ""
  return `${error.message || error.name}${suffix}`
}

// Header values are credentials; so are the tokens inside `Basic`/`Bearer` values.
const headerSecrets = (destinations: ReadonlyArray<TelemetryConfig.Destination>): Array<Redacted.Redacted<string>> =>
  destinations.flatMap((d) =>
    Object.values(d.headers).flatMap((header) => {
      const value = Redacted.value(header)
      const token = /^(?:Basic|Bearer)\s+(.+)$/i.exec(value)?.[1]
      return token === undefined ? [header] : [header, Redacted.make(token)]
    })
  )

const disabledService: Service = {
  enabled: false,
  destinations: [],
  stats: Effect.succeed([]),
  flush: Effect.void
}

const make = (settings: TelemetryConfig.Settings) =>
  Effect.gen(function*() {
    if (!settings.enabled || settings.destinations.length === 0) {
      // Only the service: a span transformer or content sink of the user's stays in force.
      return Layer.succeed(Telemetry, disabledService)
    }
    const runtime = yield* Effect.runtime<never>()
    const runFork = Runtime.runFork(runtime)
    const scrub = makeScrubber([...settings.secrets, ...headerSecrets(settings.destinations)])
    const render = SpanContent.renderer(settings.content)
    const deferred = render === undefined ? undefined : DeferredContent.make(render)
    const clean = (text: string) => redactPatterns(scrub === undefined ? text : scrub.apply(text))

    // Per destination: whether exports are failing, whether a burst of drops was logged.
    const states = settings.destinations.map(() => ({ healthy: true, dropping: false }))
    const sinks = settings.destinations.map((destination, index) => {
      const state = states[index]!
      const exported = Metric.tagged(spansExported, "destination", destination.name)
      const dropped = Metric.tagged(spansDropped, "destination", destination.name)
      const failed = Metric.tagged(spansFailed, "destination", destination.name)
      return makeSink(destination, settings.batch, { content: deferred, scrub }, {
        dropped: (count) => {
          dropped.unsafeUpdate(count, [])
          // One line when a burst of drops starts; the reporter summarises the rest.
          if (!state.dropping) {
            state.dropping = true
            runFork(Effect.logWarning(
              `telemetry: the export queue for ${destination.name} is full (${settings.batch.maxQueueSize} spans); ` +
                "dropping new spans until it drains (counted in effect_dspy_telemetry_spans_dropped_total)"
            ))
          }
        },
        exported: (count) => {
          exported.unsafeUpdate(count, [])
          if (!state.healthy) {
            state.healthy = true
            runFork(Effect.logInfo(`telemetry: export to ${destination.name} recovered`))
          }
        },
        failed: (count, error) => {
          failed.unsafeUpdate(count, [])
          // One line when exports start failing; the reporter summarises the rest.
          if (state.healthy) {
            state.healthy = false
            runFork(Effect.logWarning(
              `telemetry: export of ${count} spans to ${destination.name} failed: ${clean(describeError(error))}; ` +
                "the program is unaffected, spans that cannot be exported are counted and dropped"
            ))
          }
        }
      })
    })

    const resource = resourceFromAttributes({
      ...settings.resourceAttributes,
      "service.name": settings.serviceName,
      "telemetry.sdk.language": "nodejs",
      "telemetry.sdk.name": "@effect-dspy/telemetry",
      "telemetry.sdk.version": version
    })
    const processors = sinks.map((sink) => sink.processor)
    const provider = new BasicTracerProvider({ resource, spanProcessors: processors })
    const tracer = yield* InternalTracer.make(provider.getTracer("@effect-dspy/telemetry", version), {
      resource,
      scope: { name: "@effect-dspy/telemetry", version },
      onEnd: (span) => {
        for (const processor of processors) processor.onEnd(span)
      }
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
    yield* report.pipe(
      Effect.repeat(Schedule.spaced(settings.reportInterval)),
      Effect.delay(settings.reportInterval),
      Effect.forkScoped
    )

    const shutdown = Effect.gen(function*() {
      for (const sink of sinks) sink.beginShutdown(settings.shutdownTimeout)
      const finished = yield* Effect.tryPromise(() => provider.shutdown()).pipe(
        Effect.catchAll((error) => Effect.logDebug(`telemetry: shutdown: ${clean(String(error.error))}`)),
        Effect.interruptible,
        Effect.timeoutOption(settings.shutdownTimeout)
      )
      // Nothing may outlive the budget: an export still in flight (a request, a retry timer)
      // would keep the process alive after the program ends.
      for (const sink of sinks) sink.abandon()
      for (const sink of sinks) {
        const { dropped, exported, failed, inFlight, queued } = sink.stats
        const left = queued + inFlight
        if (Option.isNone(finished) && left > 0) {
          yield* Effect.logWarning(
            `telemetry: shutdown did not finish within ${Duration.format(settings.shutdownTimeout)}; ` +
              `${left} spans for ${sink.destination.name} were not exported`
          )
        }
        const line = `telemetry: ${sink.destination.name}: ${exported} spans exported, ${dropped} dropped, ${failed} failed`
        yield* dropped + failed > 0 ? Effect.logWarning(line) : Effect.logDebug(line)
      }
    })
    yield* Effect.addFinalizer(() => shutdown)

    const service: Service = {
      enabled: true,
      destinations: sinks.map((sink) => ({ name: sink.destination.name, url: sink.destination.url })),
      stats: Effect.sync(() => sinks.map(statsOf)),
      flush: Effect.tryPromise(() => provider.forceFlush()).pipe(
        Effect.catchAll((error) => Effect.logWarning(`telemetry: flush failed: ${clean(String(error.error))}`)),
        Effect.interruptible
      )
    }
    return Layer.mergeAll(
      Layer.setTracer(tracer),
      Layer.succeedContext(
        Context.make(Telemetry, service).pipe(
          Context.add(CurrentSpanTransformer, DeferredContent.spanTransformer(render, deferred)),
          Context.add(GenAiSpan.CurrentContentSink, deferred?.sink)
        )
      )
    )
  })

/**
 * Tracing with explicit settings. Without destinations (or with `enabled: false`) it is
 * `Layer.empty`-like: Effect's own tracer stays, nothing is exported, nothing is rendered.
 */
export const layer = (settings: TelemetryConfig.Settings): Layer.Layer<Provides> => Layer.unwrapScoped(make(settings))

/**
 * Tracing configured from the environment (through Effect `Config`): OTLP when
 * `OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT` is set, Langfuse when `LANGFUSE_PUBLIC_KEY` and
 * `LANGFUSE_SECRET_KEY` are set (both at once export to both), nothing when neither is set or
 * `OTEL_SDK_DISABLED=true`. See `TelemetryConfig.fromEnv` for every variable.
 *
 * @example
 * ```ts
 * import { Telemetry } from "@effect-dspy/telemetry"
 * import { Effect } from "effect"
 * declare const program: Effect.Effect<void>
 * Effect.runPromise(program.pipe(Effect.provide(Telemetry.layerFromEnv)))
 * ```
 */
export const layerFromEnv: Layer.Layer<Provides, ConfigError.ConfigError> = Layer.unwrapScoped(
  Effect.flatMap(TelemetryConfig.fromEnv, make)
)

/** Options shared by the explicit constructors. */
export interface CommonOptions {
  readonly serviceName?: string | undefined
  readonly resourceAttributes?: Readonly<Record<string, string>> | undefined
  readonly batch?: Partial<TelemetryConfig.Batch> | undefined
  readonly shutdownTimeout?: Duration.DurationInput | undefined
  readonly reportInterval?: Duration.DurationInput | undefined
  readonly content?: SpanContent.Options | undefined
  /** More values to scrub from every exported span (API keys the program uses). */
  readonly secrets?: ReadonlyArray<Redacted.Redacted<string>> | undefined
}

/** Options of `layerOtlp`. */
export interface OtlpOptions extends CommonOptions {
  /** The full traces URL, e.g. `http://localhost:4318/v1/traces`. */
  readonly url: string
  readonly headers?: Readonly<Record<string, string | Redacted.Redacted<string>>> | undefined
  readonly protocol?: TelemetryConfig.Protocol | undefined
  readonly compression?: TelemetryConfig.Compression | undefined
  /** Deadline of one export including retries (default 10 s). */
  readonly timeout?: Duration.DurationInput | undefined
  /** The destination's name in logs and metrics (default `otlp`). */
  readonly name?: string | undefined
}

/** The OTLP destination for options. */
export const otlpDestination = (options: OtlpOptions): TelemetryConfig.Destination => {
  const headers: Record<string, Redacted.Redacted<string>> = {}
  for (const [key, value] of Object.entries(options.headers ?? {})) {
    headers[key] = Redacted.isRedacted(value) ? value : Redacted.make(value)
  }
  return {
    name: options.name ?? "otlp",
    url: options.url,
    headers,
    protocol: options.protocol ?? "http/protobuf",
    compression: options.compression ?? "none",
    timeout: Duration.decode(options.timeout ?? TelemetryConfig.defaultExportTimeout)
  }
}

const settingsOf = (destination: TelemetryConfig.Destination, options: CommonOptions) =>
  TelemetryConfig.make({
    destinations: [destination],
    serviceName: options.serviceName,
    resourceAttributes: options.resourceAttributes,
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
 * const TracingLive = Telemetry.layerOtlp({ url: "http://localhost:4318/v1/traces", serviceName: "triage" })
 * ```
 */
export const layerOtlp = (options: OtlpOptions): Layer.Layer<Provides> => layer(settingsOf(otlpDestination(options), options))

/** Options of `layerLangfuse`. */
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
 *   baseUrl: "https://cloud.langfuse.com"
 * })
 * ```
 */
export const layerLangfuse = (options: LangfuseOptions): Layer.Layer<Provides> =>
  layer(settingsOf(Langfuse.destination(options), {
    ...options,
    secrets: [...(options.secrets ?? []), options.secretKey]
  }))

/** Exports everything queued now (a no-op when tracing is off). */
export const flush: Effect.Effect<void, never, Telemetry> = Effect.flatMap(Telemetry, (t) => t.flush)

/** Who and what a trace belongs to. */
export interface Session {
  readonly sessionId?: string | undefined
  readonly userId?: string | undefined
  /** The trace's name in Langfuse (default: the root span's name). */
  readonly traceName?: string | undefined
  readonly tags?: ReadonlyArray<string> | undefined
}

/** The span attributes for a session: Langfuse's names and the OpenTelemetry ones. */
export const sessionAttributes = (session: Session): Record<string, unknown> => {
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
 * declare const handle: Effect.Effect<string>
 * const traced = handle.pipe(Telemetry.withSession({ sessionId: "chat-42", userId: "ada" }))
 * ```
 */
export const withSession: {
  (session: Session): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, session: Session): Effect.Effect<A, E, R>
} = dual(2, <A, E, R>(self: Effect.Effect<A, E, R>, session: Session): Effect.Effect<A, E, R> => {
  const attributes = sessionAttributes(session)
  return Effect.zipRight(Effect.annotateCurrentSpan(attributes), Effect.annotateSpans(self, attributes))
})
