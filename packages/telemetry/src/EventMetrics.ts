/**
 * A subscriber that records core's events as Effect metrics: LM calls, tokens and errors by
 * provider and model, latency summaries with p50/p95/p99, module and tool calls, parse
 * failures and retries. Export them with any Effect metrics exporter (e.g.
 * `@effect/opentelemetry`'s `Metrics` layer) or read them with `Metric.value`.
 *
 * Like `EventLog`, it listens on the `EventBus` in context: provide one live bus for the whole
 * program (`Layer.provideMerge(EventBus.layer)`); it warns when it finds only the disabled one.
 *
 * @since 0.1.0
 */
import { type DspyEvent, EventBus } from "@effect-dspy/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as MetricLabel from "effect/MetricLabel"

const summary = (name: string, description: string) =>
  Metric.summary({ name, description, maxAge: "1 hour", maxSize: 10_000, error: 0.01, quantiles: [0.5, 0.95, 0.99] })

const counter = (name: string, description: string) => Metric.counter(name, { description, incremental: true })

/**
 * LM calls, tagged `provider`, `model`, `outcome` (`success` or `error`).
 *
 * @since 0.1.0
 */
export const lmCalls = counter("effect_dspy_lm_calls_total", "LM calls")
/**
 * Input tokens, tagged `provider`, `model`.
 *
 * @since 0.1.0
 */
export const lmInputTokens = counter("effect_dspy_lm_input_tokens_total", "LM input tokens")
/**
 * Output tokens, tagged `provider`, `model`.
 *
 * @since 0.1.0
 */
export const lmOutputTokens = counter("effect_dspy_lm_output_tokens_total", "LM output tokens")
/**
 * Cached input tokens, tagged `provider`, `model`.
 *
 * @since 0.1.0
 */
export const lmCachedInputTokens = counter("effect_dspy_lm_cached_input_tokens_total", "LM cached input tokens")
/**
 * LM call latency in milliseconds (p50/p95/p99), tagged `provider`, `model`.
 *
 * @since 0.1.0
 */
export const lmLatency = summary("effect_dspy_lm_latency_ms", "LM call latency in milliseconds")
/**
 * LM errors, tagged `provider`, `model`, `error` (the error's tag).
 *
 * @since 0.1.0
 */
export const lmErrors = counter("effect_dspy_lm_errors_total", "LM errors by type")
/**
 * LM retries, tagged `provider`, `model`, `error`.
 *
 * @since 0.1.0
 */
export const lmRetries = counter("effect_dspy_lm_retries_total", "LM call retries")
/**
 * Module calls, tagged `kind`, `module`, `outcome`.
 *
 * @since 0.1.0
 */
export const moduleCalls = counter("effect_dspy_module_calls_total", "Module calls")
/**
 * Module call latency in milliseconds, tagged `kind`, `module`.
 *
 * @since 0.1.0
 */
export const moduleLatency = summary("effect_dspy_module_latency_ms", "Module call latency in milliseconds")
/**
 * Replies the adapter could not read, tagged `signature`, `adapter`.
 *
 * @since 0.1.0
 */
export const parseFailures = counter("effect_dspy_parse_failures_total", "Unreadable LM replies")
/**
 * Tool calls, tagged `tool`, `outcome`.
 *
 * @since 0.1.0
 */
export const toolCalls = counter("effect_dspy_tool_calls_total", "Tool calls")
/**
 * Tool latency in milliseconds, tagged `tool`.
 *
 * @since 0.1.0
 */
export const toolLatency = summary("effect_dspy_tool_latency_ms", "Tool call latency in milliseconds")

/**
 * The labels of an LM event.
 *
 * @since 0.1.0
 */
export const lmLabels = (provider: string | undefined, model: string | undefined): Array<MetricLabel.MetricLabel> => [
  MetricLabel.make("provider", provider ?? "unknown"),
  MetricLabel.make("model", model ?? "unknown")
]

const outcome = (success: boolean) => MetricLabel.make("outcome", success ? "success" : "error")

/**
 * Records one event.
 *
 * @since 0.1.0
 */
export const record = (event: DspyEvent.DspyEvent): void => {
  switch (event.type) {
    case "lm.end": {
      const labels = lmLabels(event.provider, event.model)
      lmCalls.unsafeUpdate(1, [...labels, outcome(true)])
      lmInputTokens.unsafeUpdate(event.usage.inputTokens, labels)
      lmOutputTokens.unsafeUpdate(event.usage.outputTokens, labels)
      if (event.usage.cachedInputTokens > 0) lmCachedInputTokens.unsafeUpdate(event.usage.cachedInputTokens, labels)
      lmLatency.unsafeUpdate(event.durationMillis, labels)
      return
    }
    case "lm.error": {
      const labels = lmLabels(event.provider, event.model)
      lmCalls.unsafeUpdate(1, [...labels, outcome(false)])
      lmErrors.unsafeUpdate(1, [...labels, MetricLabel.make("error", event.errorTag)])
      lmLatency.unsafeUpdate(event.durationMillis, labels)
      return
    }
    case "lm.retry":
      lmRetries.unsafeUpdate(1, [...lmLabels(event.provider, event.model), MetricLabel.make("error", event.errorTag)])
      return
    case "module.end": {
      const labels = [MetricLabel.make("kind", event.kind), MetricLabel.make("module", event.module)]
      moduleCalls.unsafeUpdate(1, [...labels, outcome(event.success)])
      moduleLatency.unsafeUpdate(event.durationMillis, labels)
      return
    }
    case "parse.failure":
      parseFailures.unsafeUpdate(1, [MetricLabel.make("signature", event.signature), MetricLabel.make("adapter", event.adapter)])
      return
    case "tool.result": {
      const tool = MetricLabel.make("tool", event.tool)
      toolCalls.unsafeUpdate(1, [tool, outcome(event.success)])
      toolLatency.unsafeUpdate(event.durationMillis, [tool])
      return
    }
    default:
      return
  }
}

/**
 * Records metrics for every event for the lifetime of the layer.
 *
 * @example
 * ```ts
 * import { EventBus } from "@effect-dspy/core"
 * import { EventMetrics } from "@effect-dspy/telemetry"
 * import { Layer } from "effect"
 * const MetricsLive = EventMetrics.layer.pipe(Layer.provideMerge(EventBus.layer))
 * ```
 *
 * @since 0.1.0
 */
export const layer: Layer.Layer<never> = Layer.scopedDiscard(Effect.gen(function*() {
  yield* EventBus.on("*", (event) => Effect.sync(() => record(event)), { bufferSize: 4096 })
  const bus = yield* EventBus.EventBus
  if (!bus.active()) {
    yield* Effect.logWarning(
      "EventMetrics: the EventBus in context is core's disabled default, so no metrics will be recorded; " +
        "provide EventBus.layer, e.g. EventMetrics.layer.pipe(Layer.provideMerge(EventBus.layer))"
    )
  }
}))
