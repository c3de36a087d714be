/**
 * Langfuse over OpenTelemetry: the endpoint, the Basic-auth headers built from the project's
 * keys, the environment variables, and the `langfuse.*` attribute names Langfuse reads.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { dual } from "effect/Function"
import * as Option from "effect/Option"
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
 * The ingestion version header Langfuse's OTel endpoint reads.
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
  readonly timeout?: Duration.DurationInput | undefined
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
    compression: "none",
    timeout: Duration.decode(options.timeout ?? Duration.seconds(10))
  }
}

const optional = (name: string) =>
  Config.string(name).pipe(
    Config.option,
    Config.map(Option.flatMap((s) => (s.trim() === "" ? Option.none() : Option.some(s.trim()))))
  )

/**
 * Langfuse settings from `LANGFUSE_PUBLIC_KEY`, `LANGFUSE_SECRET_KEY` and `LANGFUSE_BASE_URL`
 * (or `LANGFUSE_HOST`). None when neither key is set; an error when only one is.
 *
 * @since 0.1.0
 */
export const config: Config.Config<Option.Option<Options>> = Config.all({
  publicKey: optional("LANGFUSE_PUBLIC_KEY"),
  secretKey: Config.option(Config.redacted("LANGFUSE_SECRET_KEY")).pipe(
    Config.map(Option.filter((s) => Redacted.value(s).trim() !== ""))
  ),
  baseUrl: optional("LANGFUSE_BASE_URL"),
  host: optional("LANGFUSE_HOST")
}).pipe(Config.mapOrFail((c): Either.Either<Option.Option<Options>, ConfigError.ConfigError> => {
  if (Option.isNone(c.publicKey) && Option.isNone(c.secretKey)) return Either.right(Option.none())
  if (Option.isNone(c.publicKey)) {
    return Either.left(ConfigError.MissingData(["LANGFUSE_PUBLIC_KEY"], "LANGFUSE_SECRET_KEY is set but LANGFUSE_PUBLIC_KEY is not"))
  }
  if (Option.isNone(c.secretKey)) {
    return Either.left(ConfigError.MissingData(["LANGFUSE_SECRET_KEY"], "LANGFUSE_PUBLIC_KEY is set but LANGFUSE_SECRET_KEY is not"))
  }
  const baseUrl = Option.getOrElse(Option.orElse(c.baseUrl, () => c.host), () => defaultBaseUrl)
  try {
    new URL(baseUrl)
  } catch {
    return Either.left(ConfigError.InvalidData(["LANGFUSE_BASE_URL"], `"${baseUrl}" is not a valid URL`))
  }
  return Either.right(Option.some({ publicKey: c.publicKey.value, secretKey: c.secretKey.value, baseUrl }))
}))

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
 * Langfuse observation types.
 *
 * @since 0.1.0
 */
export type ObservationType =
  | "span"
  | "generation"
  | "event"
  | "agent"
  | "tool"
  | "chain"
  | "retriever"
  | "evaluator"
  | "embedding"
  | "guardrail"

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
