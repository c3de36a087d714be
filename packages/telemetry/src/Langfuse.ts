/**
 * Langfuse over OpenTelemetry: the project's destination (its OTLP endpoint, Basic auth from
 * the keys, environment and release), the `langfuse.*` attribute names Langfuse reads,
 * observation types for your own spans, and linking generations to a Langfuse prompt.
 *
 * Environment variables (read by `TelemetryConfig.fromEnv`): `LANGFUSE_PUBLIC_KEY` and
 * `LANGFUSE_SECRET_KEY` (both, or nothing is exported), `LANGFUSE_BASE_URL` or `LANGFUSE_HOST`,
 * `LANGFUSE_TRACING_ENABLED` (`false` turns Langfuse export off), `LANGFUSE_TRACING_ENVIRONMENT`,
 * `LANGFUSE_RELEASE`, and `EFFECT_DSPY_LANGFUSE_COMPRESSION` (`gzip`, the default, or `none`).
 *
 * @since 0.1.0
 */
import type { GenAiSpan } from "@effect-dspy/core"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Redacted from "effect/Redacted"
import type * as EffectTracer from "effect/Tracer"
import type * as TelemetryConfig from "./TelemetryConfig.js"

/**
 * Langfuse Cloud (EU), used when no base URL is given.
 *
 * @since 0.1.0
 */
export const defaultBaseUrl = "https://cloud.langfuse.com"

/**
 * The ingestion version header Langfuse's OpenTelemetry endpoint reads.
 *
 * @since 0.1.0
 */
export const ingestionVersion = "4"

/**
 * Options of a Langfuse destination.
 *
 * @since 0.1.0
 */
export interface Options {
  readonly publicKey: string | Redacted.Redacted<string>
  readonly secretKey: Redacted.Redacted<string>
  /** Default `https://cloud.langfuse.com`; a self-hosted instance's URL otherwise. */
  readonly baseUrl?: string | undefined
  readonly protocol?: TelemetryConfig.Protocol | undefined
  /** Request bodies gzipped (default) or not. */
  readonly compression?: TelemetryConfig.Compression | undefined
  readonly timeout?: Duration.DurationInput | undefined
  /** The Langfuse environment of every trace (`production`, `staging`, ...). */
  readonly environment?: string | undefined
  /** The release (version of your application) of every trace. */
  readonly release?: string | undefined
}

/**
 * The OTLP traces endpoint of a Langfuse instance.
 *
 * @since 0.1.0
 */
export const endpoint = (baseUrl: string = defaultBaseUrl): string =>
  `${baseUrl.replace(/\/+$/, "")}/api/public/otel/v1/traces`

/**
 * The export destination for a Langfuse project: Basic auth from the keys, redacted.
 *
 * @since 0.1.0
 */
export const destination = (options: Options): TelemetryConfig.Destination => {
  const publicKey = Redacted.isRedacted(options.publicKey) ? Redacted.value(options.publicKey) : options.publicKey
  const credentials = Buffer.from(`${publicKey}:${Redacted.value(options.secretKey)}`).toString("base64")
  return {
    name: "langfuse",
    url: endpoint(options.baseUrl),
    headers: {
      Authorization: Redacted.make(`Basic ${credentials}`),
      "x-langfuse-ingestion-version": Redacted.make(ingestionVersion)
    },
    protocol: options.protocol ?? "http/protobuf",
    compression: options.compression ?? "gzip",
    timeout: Duration.decode(options.timeout ?? Duration.seconds(10)),
    langfuse: { environment: options.environment, release: options.release }
  }
}

/**
 * The attribute names Langfuse reads from OpenTelemetry spans.
 *
 * @since 0.1.0
 */
export const Attributes = {
  observationType: "langfuse.observation.type",
  observationInput: "langfuse.observation.input",
  observationOutput: "langfuse.observation.output",
  observationLevel: "langfuse.observation.level",
  completionStartTime: "langfuse.observation.completion_start_time",
  promptName: "langfuse.observation.prompt.name",
  promptVersion: "langfuse.observation.prompt.version",
  traceName: "langfuse.trace.name",
  traceTags: "langfuse.trace.tags",
  traceInput: "langfuse.trace.input",
  traceOutput: "langfuse.trace.output",
  sessionId: "langfuse.session.id",
  userId: "langfuse.user.id",
  environment: "langfuse.environment",
  release: "langfuse.release"
} as const

/**
 * Langfuse observation types: core's, which names the protocol between the spans core opens and
 * this package.
 *
 * @since 0.1.0
 */
export type ObservationType = GenAiSpan.ObservationType

/**
 * Runs an effect in a span that Langfuse shows as the given observation type, e.g. an
 * `evaluator` around a metric.
 *
 * @example
 * ```ts
 * import { Langfuse } from "@effect-dspy/telemetry"
 * import { Effect } from "effect"
 * const score = Effect.succeed(0.9).pipe(Langfuse.observe("exact_match", "evaluator"))
 * ```
 *
 * @since 0.1.0
 */
export const observe: {
  (name: string, type: ObservationType, options?: EffectTracer.SpanOptions): <A, E, R>(
    self: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E, R>
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    name: string,
    type: ObservationType,
    options?: EffectTracer.SpanOptions
  ): Effect.Effect<A, E, R>
} = dual(
  (args) => typeof args[0] !== "string",
  <A, E, R>(self: Effect.Effect<A, E, R>, name: string, type: ObservationType, options?: EffectTracer.SpanOptions) =>
    Effect.withSpan(self, name, {
      captureStackTrace: false,
      ...options,
      attributes: { ...options?.attributes, [Attributes.observationType]: type }
    })
)

/**
 * A prompt managed in Langfuse: its name and version, as Langfuse's prompt API returns them.
 *
 * @since 0.2.0
 */
export interface Prompt {
  readonly name: string
  readonly version: number
}

/**
 * Links the generations made inside `self` to a Langfuse prompt, so that Langfuse shows which
 * prompt version produced them and aggregates its metrics by prompt. Annotates every span
 * inside with `langfuse.observation.prompt.name` / `.version` (Langfuse reads them on
 * generations). Use it where a module runs with instructions taken from that prompt.
 *
 * @example
 * ```ts
 * import { ChainOfThought, Signature } from "@effect-dspy/core"
 * import { Langfuse } from "@effect-dspy/telemetry"
 *
 * const Triage = Signature.fromString("request -> reply")
 * const triage = ChainOfThought.make(Triage)
 * const answer = triage({ request: "A latte please" }).pipe(
 *   Langfuse.withPrompt({ name: "triage", version: 3 })
 * )
 * ```
 *
 * @since 0.2.0
 */
export const withPrompt: {
  (prompt: Prompt): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, prompt: Prompt): Effect.Effect<A, E, R>
} = dual(
  2,
  <A, E, R>(self: Effect.Effect<A, E, R>, prompt: Prompt): Effect.Effect<A, E, R> =>
    Effect.annotateSpans(self, { [Attributes.promptName]: prompt.name, [Attributes.promptVersion]: prompt.version })
)
