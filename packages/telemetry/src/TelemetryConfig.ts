/**
 * Telemetry settings, and how they are read from the environment through Effect `Config`:
 * the standard `OTEL_*` variables for OTLP export and the batch processor, `LANGFUSE_*` for
 * Langfuse, and `EFFECT_DSPY_*` for content capture and shutdown.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Langfuse from "./Langfuse.js"
import type * as SpanContent from "./SpanContent.js"

/**
 * OTLP over HTTP, protobuf (the default) or JSON. gRPC is not supported.
 *
 * @since 0.1.0
 */
export type Protocol = "http/protobuf" | "http/json"

/**
 * Request body compression.
 *
 * @since 0.1.0
 */
export type Compression = "none" | "gzip"

/**
 * One place spans are exported to.
 *
 * @since 0.1.0
 */
export interface Destination {
  /** A name for logs and metrics (`otlp`, `langfuse`); never a secret. */
  readonly name: string
  /** The full traces URL, e.g. `http://localhost:4318/v1/traces`. */
  readonly url: string
  /** Request headers; all values redacted, since they usually carry credentials. */
  readonly headers: Readonly<Record<string, Redacted.Redacted<string>>>
  readonly protocol: Protocol
  readonly compression: Compression
  /** Deadline of one export including its retries (`OTEL_EXPORTER_OTLP_TIMEOUT`, default 10 s). */
  readonly timeout: Duration.Duration
}

/**
 * The batch span processor's bounds (`OTEL_BSP_*`).
 *
 * @since 0.1.0
 */
export interface Batch {
  /** Spans waiting for export; beyond it new spans are dropped and counted (default 2048). */
  readonly maxQueueSize: number
  /** Spans per export request (default 512). */
  readonly maxExportBatchSize: number
  /** Delay between scheduled exports (default 5 s). */
  readonly scheduleDelay: Duration.Duration
  /** How long the processor waits for one export before moving on (default 30 s). */
  readonly exportTimeout: Duration.Duration
}

/**
 * Everything the telemetry layer needs.
 *
 * @since 0.1.0
 */
export interface Settings {
  /** False turns export off entirely (`OTEL_SDK_DISABLED=true`). */
  readonly enabled: boolean
  readonly serviceName: string
  readonly resourceAttributes: Readonly<Record<string, string>>
  /** Where spans go; none means tracing costs nothing beyond Effect's own spans. */
  readonly destinations: ReadonlyArray<Destination>
  readonly batch: Batch
  /** How long closing the layer may spend flushing queued spans (default 5 s). */
  readonly shutdownTimeout: Duration.Duration
  /** How often dropped and failed spans are summarised in the log (default 10 s). */
  readonly reportInterval: Duration.Duration
  readonly content: SpanContent.Options
  /** Values that must never leave the process (API keys); scrubbed from every exported span. */
  readonly secrets: ReadonlyArray<Redacted.Redacted<string>>
}

/**
 * The batch defaults of the OpenTelemetry specification.
 *
 * @since 0.1.0
 */
export const defaultBatch: Batch = {
  maxQueueSize: 2048,
  maxExportBatchSize: 512,
  scheduleDelay: Duration.seconds(5),
  exportTimeout: Duration.seconds(30)
}

/**
 * The default export deadline (retries included).
 *
 * @since 0.1.0
 */
export const defaultExportTimeout: Duration.Duration = Duration.seconds(10)

/**
 * The default shutdown flush budget.
 *
 * @since 0.1.0
 */
export const defaultShutdownTimeout: Duration.Duration = Duration.seconds(5)

/**
 * The default service name of the OpenTelemetry specification for Node.
 *
 * @since 0.1.0
 */
export const defaultServiceName = "unknown_service:node"

/**
 * Environment variables whose values are treated as secrets by `fromEnv`.
 *
 * @since 0.1.0
 */
export const secretEnvNames: ReadonlyArray<string> = [
  "OPENAI_API_KEY",
  "ANTHROPIC_API_KEY",
  "OPENAI_COMPATIBLE_API_KEY",
  "LANGFUSE_SECRET_KEY"
]

/**
 * Settings with the defaults and the given destinations.
 *
 * @since 0.1.0
 */
export const make = (options: {
  readonly destinations: ReadonlyArray<Destination>
  readonly enabled?: boolean | undefined
  readonly serviceName?: string | undefined
  readonly resourceAttributes?: Readonly<Record<string, string>> | undefined
  readonly batch?: Partial<Batch> | undefined
  readonly shutdownTimeout?: Duration.DurationInput | undefined
  readonly reportInterval?: Duration.DurationInput | undefined
  readonly content?: SpanContent.Options | undefined
  readonly secrets?: ReadonlyArray<Redacted.Redacted<string>> | undefined
}): Settings => ({
  enabled: options.enabled ?? true,
  serviceName: options.serviceName ?? options.resourceAttributes?.["service.name"] ?? defaultServiceName,
  resourceAttributes: options.resourceAttributes ?? {},
  destinations: options.destinations,
  batch: { ...defaultBatch, ...options.batch },
  shutdownTimeout: Duration.decode(options.shutdownTimeout ?? defaultShutdownTimeout),
  reportInterval: Duration.decode(options.reportInterval ?? Duration.seconds(10)),
  content: options.content ?? {},
  secrets: options.secrets ?? []
})

// ---------------------------------------------------------------------------------------------
// parsing (pure, exported for tests)
// ---------------------------------------------------------------------------------------------

const decode = (text: string): string => {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

/**
 * Parses the `key=value,key2=value2` lists of `OTEL_EXPORTER_OTLP_HEADERS` and
 * `OTEL_RESOURCE_ATTRIBUTES`: entries trimmed and percent-decoded, split at the first `=`
 * (so base64 values keep their padding), empty entries skipped.
 *
 * @since 0.1.0
 */
export const parseKeyValues = (text: string): Either.Either<Record<string, string>, string> => {
  const entries: Array<readonly [string, string]> = []
  for (const entry of text.split(",")) {
    if (entry.trim() === "") continue
    const eq = entry.indexOf("=")
    if (eq <= 0) return Either.left(`"${entry.trim().slice(0, 40)}" is not a key=value pair`)
    const key = decode(entry.slice(0, eq).trim())
    if (key === "") return Either.left("an entry has an empty key")
    entries.push([key, decode(entry.slice(eq + 1).trim())])
  }
  // fromEntries defines own properties, so a key like `__proto__` stays an ordinary key.
  return Either.right(Object.fromEntries(entries))
}

/**
 * Checks an absolute http(s) URL.
 *
 * @since 0.1.0
 */
export const validateUrl = (url: string): Either.Either<string, string> => {
  try {
    const parsed = new URL(url)
    return parsed.protocol === "http:" || parsed.protocol === "https:"
      ? Either.right(parsed.href)
      : Either.left(`"${parsed.protocol}" URLs are not supported; use http or https`)
  } catch {
    return Either.left(`"${url}" is not a valid URL`)
  }
}

/**
 * The traces URL under a base endpoint: `{base}/v1/traces`, as the OTLP specification says.
 *
 * @since 0.1.0
 */
export const tracesUrl = (base: string): string => `${base.replace(/\/+$/, "")}/v1/traces`

/**
 * Reads a protocol name.
 *
 * @since 0.1.0
 */
export const parseProtocol = (text: string): Either.Either<Protocol, string> => {
  const value = text.trim().toLowerCase()
  if (value === "http/protobuf" || value === "http/json") return Either.right(value)
  if (value === "grpc") return Either.left("grpc is not supported; use http/protobuf (the default) or http/json")
  return Either.left(`unknown protocol "${text}"; use http/protobuf or http/json`)
}

// ---------------------------------------------------------------------------------------------
// Config
// ---------------------------------------------------------------------------------------------

const invalid = (name: string, message: string) => ConfigError.InvalidData([name], message)

/** An optional variable; empty or blank counts as unset, as the specification says. */
const optional = (name: string): Config.Config<Option.Option<string>> =>
  Config.string(name).pipe(
    Config.option,
    Config.map(Option.flatMap((s) => (s.trim() === "" ? Option.none() : Option.some(s.trim()))))
  )

const optionalRedacted = (name: string): Config.Config<Option.Option<Redacted.Redacted<string>>> =>
  Config.redacted(name).pipe(
    Config.option,
    Config.map(Option.filter((s) => Redacted.value(s).trim() !== ""))
  )

const firstOf = (...names: ReadonlyArray<string>): Config.Config<Option.Option<readonly [string, string]>> =>
  Config.map(
    Config.all(names.map((name) => Config.map(optional(name), Option.map((value) => [name, value] as const)))),
    (values) => Option.firstSomeOf(values)
  )

const integer = (name: string, min: number): Config.Config<Option.Option<number>> =>
  optional(name).pipe(Config.mapOrFail((value) => {
    if (Option.isNone(value)) return Either.right(Option.none())
    const n = Number(value.value)
    return Number.isInteger(n) && n >= min
      ? Either.right(Option.some(n))
      : Either.left(invalid(name, `expected an integer >= ${min}, got "${value.value}"`))
  }))

const flag = (name: string, fallback: boolean): Config.Config<boolean> =>
  optional(name).pipe(Config.mapOrFail((value) => {
    if (Option.isNone(value)) return Either.right(fallback)
    const v = value.value.toLowerCase()
    if (["true", "1", "yes", "on"].includes(v)) return Either.right(true)
    if (["false", "0", "no", "off"].includes(v)) return Either.right(false)
    return Either.left(invalid(name, `expected true or false, got "${value.value}"`))
  }))

const keyValues = (name: string): Config.Config<Record<string, string>> =>
  optional(name).pipe(Config.mapOrFail((value) =>
    Option.isNone(value)
      ? Either.right({})
      : Either.mapLeft(parseKeyValues(value.value), (message) => invalid(name, message))
  ))

const millis = (value: Option.Option<number>, fallback: Duration.Duration): Duration.Duration =>
  Option.match(value, { onNone: () => fallback, onSome: (ms) => Duration.millis(ms) })

/**
 * `OTEL_SDK_DISABLED`: only `true` (any case) disables, as the specification says.
 *
 * @since 0.1.0
 */
export const sdkDisabled: Config.Config<boolean> = Config.map(
  optional("OTEL_SDK_DISABLED"),
  Option.match({ onNone: () => false, onSome: (v) => v.toLowerCase() === "true" })
)

/**
 * The batch processor settings from `OTEL_BSP_*`.
 *
 * @since 0.1.0
 */
export const batch: Config.Config<Batch> = Config.all({
  maxQueueSize: integer("OTEL_BSP_MAX_QUEUE_SIZE", 1),
  maxExportBatchSize: integer("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 1),
  scheduleDelay: integer("OTEL_BSP_SCHEDULE_DELAY", 0),
  exportTimeout: integer("OTEL_BSP_EXPORT_TIMEOUT", 1)
}).pipe(Config.map((c): Batch => {
  const maxQueueSize = Option.getOrElse(c.maxQueueSize, () => defaultBatch.maxQueueSize)
  return {
    maxQueueSize,
    // The processor never sends more than it can queue.
    maxExportBatchSize: Math.min(maxQueueSize, Option.getOrElse(c.maxExportBatchSize, () => defaultBatch.maxExportBatchSize)),
    scheduleDelay: millis(c.scheduleDelay, defaultBatch.scheduleDelay),
    exportTimeout: millis(c.exportTimeout, defaultBatch.exportTimeout)
  }
}))

/**
 * The resource: `OTEL_SERVICE_NAME` over `service.name` in `OTEL_RESOURCE_ATTRIBUTES`.
 *
 * @since 0.1.0
 */
export const resource: Config.Config<{
  readonly serviceName: string
  readonly attributes: Readonly<Record<string, string>>
}> = Config.all({
  name: optional("OTEL_SERVICE_NAME"),
  attributes: keyValues("OTEL_RESOURCE_ATTRIBUTES")
}).pipe(Config.map(({ attributes, name }) => ({
  serviceName: Option.getOrElse(name, () => attributes["service.name"] ?? defaultServiceName),
  attributes
})))

/**
 * The OTLP destination from `OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT`, `_HEADERS`, `_PROTOCOL`,
 * `_TIMEOUT` and `_COMPRESSION` (signal-specific variables win), or none when no endpoint is
 * set or `OTEL_TRACES_EXPORTER` does not name `otlp`.
 *
 * @since 0.1.0
 */
export const otlp: Config.Config<Option.Option<Destination>> = Config.all({
  exporters: optional("OTEL_TRACES_EXPORTER"),
  tracesEndpoint: optional("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
  endpoint: optional("OTEL_EXPORTER_OTLP_ENDPOINT"),
  headers: keyValues("OTEL_EXPORTER_OTLP_HEADERS"),
  tracesHeaders: keyValues("OTEL_EXPORTER_OTLP_TRACES_HEADERS"),
  protocol: firstOf("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"),
  timeout: Config.all([integer("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", 1), integer("OTEL_EXPORTER_OTLP_TIMEOUT", 1)]),
  compression: firstOf("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "OTEL_EXPORTER_OTLP_COMPRESSION")
}).pipe(Config.mapOrFail((c): Either.Either<Option.Option<Destination>, ConfigError.ConfigError> => {
  const named = Option.map(c.exporters, (v) => v.split(",").map((s) => s.trim().toLowerCase()))
  if (Option.isSome(named) && !named.value.includes("otlp")) return Either.right(Option.none())
  const url = Option.isSome(c.tracesEndpoint)
    ? Either.mapLeft(validateUrl(c.tracesEndpoint.value), (m) => invalid("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", m))
    : Option.isSome(c.endpoint)
    ? Either.mapLeft(validateUrl(tracesUrl(c.endpoint.value)), (m) => invalid("OTEL_EXPORTER_OTLP_ENDPOINT", m))
    : undefined
  if (url === undefined) return Either.right(Option.none())
  if (Either.isLeft(url)) return Either.left(url.left)
  let protocol: Protocol = "http/protobuf"
  if (Option.isSome(c.protocol)) {
    const [name, value] = c.protocol.value
    const parsed = parseProtocol(value)
    if (Either.isLeft(parsed)) return Either.left(invalid(name, parsed.left))
    protocol = parsed.right
  }
  let compression: Compression = "none"
  if (Option.isSome(c.compression)) {
    const [name, value] = c.compression.value
    if (value !== "gzip" && value !== "none") return Either.left(invalid(name, `expected gzip or none, got "${value}"`))
    compression = value
  }
  const headers = Object.fromEntries(
    [...Object.entries(c.headers), ...Object.entries(c.tracesHeaders)].map(([key, value]) => [key, Redacted.make(value)] as const)
  )
  const timeout = Option.firstSomeOf(c.timeout)
  return Either.right(Option.some({
    name: "otlp",
    url: url.right,
    headers,
    protocol,
    compression,
    timeout: millis(timeout, defaultExportTimeout)
  }))
}))

/**
 * Content capture from `EFFECT_DSPY_CAPTURE_CONTENT` (default true) and `EFFECT_DSPY_CONTENT_MAX_LENGTH`.
 *
 * @since 0.1.0
 */
export const content: Config.Config<SpanContent.Options> = Config.all({
  capture: flag("EFFECT_DSPY_CAPTURE_CONTENT", true),
  maxLength: integer("EFFECT_DSPY_CONTENT_MAX_LENGTH", 16)
}).pipe(Config.map(({ capture, maxLength }) => ({ capture, maxLength: Option.getOrUndefined(maxLength) })))

/**
 * The values of the `secretEnvNames` variables that are set.
 *
 * @since 0.1.0
 */
export const secrets: Config.Config<ReadonlyArray<Redacted.Redacted<string>>> = Config.map(
  Config.all(secretEnvNames.map(optionalRedacted)),
  (values) => values.flatMap((v) => (Option.isSome(v) ? [v.value] : []))
)

/**
 * All settings from the environment. Export is enabled when an OTLP endpoint or both
 * Langfuse keys are set and `OTEL_SDK_DISABLED` is not `true`.
 *
 * @example
 * ```ts
 * import { TelemetryConfig } from "@effect-dspy/telemetry"
 * import { ConfigProvider, Effect } from "effect"
 *
 * const settings = TelemetryConfig.fromEnv.pipe(
 *   Effect.withConfigProvider(ConfigProvider.fromJson({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://localhost:4318" }))
 * )
 * ```
 *
 * @since 0.1.0
 */
export const fromEnv: Config.Config<Settings> = Config.all({
  disabled: sdkDisabled,
  resource,
  otlp,
  langfuse: Langfuse.config,
  batch,
  content,
  secrets,
  shutdownTimeout: Config.option(Config.duration("EFFECT_DSPY_TELEMETRY_SHUTDOWN_TIMEOUT"))
}).pipe(Config.map((c): Settings => {
  const destinations: Array<Destination> = []
  if (Option.isSome(c.otlp)) destinations.push(c.otlp.value)
  if (Option.isSome(c.langfuse)) destinations.push(Langfuse.destination(c.langfuse.value))
  return make({
    enabled: !c.disabled && destinations.length > 0,
    destinations: c.disabled ? [] : destinations,
    serviceName: c.resource.serviceName,
    resourceAttributes: c.resource.attributes,
    batch: c.batch,
    content: c.content,
    secrets: c.secrets,
    shutdownTimeout: Option.getOrUndefined(c.shutdownTimeout)
  })
}))
