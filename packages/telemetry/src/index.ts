/**
 * `@effect-dspy/telemetry`: GenAI spans exported over OTLP and to Langfuse as Effect layers,
 * and event subscribers for logs and metrics.
 *
 * @since 0.1.0
 */

/**
 * Whether and how prompts, replies and tool data are recorded on spans.
 *
 * @since 0.2.0
 */
export * as ContentCapture from "./ContentCapture.js"

/**
 * Structured log lines from core's events.
 *
 * @since 0.1.0
 */
export * as EventLog from "./EventLog.js"

/**
 * Effect metrics from core's events (tokens, latency, errors by provider and model).
 *
 * @since 0.1.0
 */
export * as EventMetrics from "./EventMetrics.js"

/**
 * GenAI semantic-convention names and time to first chunk.
 *
 * @since 0.1.0
 */
export * as GenAi from "./GenAi.js"

/**
 * Langfuse endpoint, credentials and attribute names.
 *
 * @since 0.1.0
 */
export * as Langfuse from "./Langfuse.js"

/**
 * The tracing layers: OTLP, Langfuse, from the environment.
 *
 * @since 0.1.0
 */
export * as Telemetry from "./Telemetry.js"

/**
 * Telemetry settings and the environment variables they are read from.
 *
 * @since 0.1.0
 */
export * as TelemetryConfig from "./TelemetryConfig.js"
