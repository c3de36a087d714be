/**
 * @effect-dspy/telemetry: GenAI spans exported over OTLP and to Langfuse as Effect layers,
 * and event subscribers for logs and metrics.
 *
 * @since 0.1.0
 */

/**
 * Structured log lines from core's events.
 *
 * @since 0.1.0
 */
export * as EventLog from "./EventLog"

/**
 * Effect metrics from core's events (tokens, latency, errors by provider and model).
 *
 * @since 0.1.0
 */
export * as EventMetrics from "./EventMetrics"

/**
 * GenAI semantic-convention names and time to first chunk.
 *
 * @since 0.1.0
 */
export * as GenAi from "./GenAi"

/**
 * Langfuse endpoint, credentials and attribute names.
 *
 * @since 0.1.0
 */
export * as Langfuse from "./Langfuse"

/**
 * Capture, masking and truncation of prompts and outputs on spans.
 *
 * @since 0.1.0
 */
export * as SpanContent from "./SpanContent"

/**
 * The tracing layers: OTLP, Langfuse, from the environment.
 *
 * @since 0.1.0
 */
export * as Telemetry from "./Telemetry"

/**
 * Telemetry settings and the environment variables they are read from.
 *
 * @since 0.1.0
 */
export * as TelemetryConfig from "./TelemetryConfig"
