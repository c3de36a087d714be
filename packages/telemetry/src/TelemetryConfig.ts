/**
 * Telemetry settings, and how they are read from the environment through Effect `Config`
 * (`OTEL_*` as the OpenTelemetry specification defines them, `LANGFUSE_*` as Langfuse's SDKs
 * read them). As the specification asks, a value that cannot be used is reported and ignored,
 * never fatal: the setting falls back to its default (or the variable is discarded), the
 * program runs, and the layer logs one warning per problem (`Settings.warnings`). Enumerated
 * values are case-insensitive.
 *
 * @since 0.1.0
 */
import { Redaction } from "@effect-dspy/core"
import * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as ContentCapture from "./ContentCapture.js"
import * as Langfuse from "./Langfuse.js"

/**
 * The OTLP/HTTP encodings.
 *
 * @since 0.1.0
 */
export type Protocol = "http/protobuf" | "http/json"

/**
 * Request body compression.
 *
 * @since 0.1.0
 */
export type Compression = "gzip" | "none"

/**
 * Where one destination's spans are sent.
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
  /** Deadline of one export, its retries included (infinite means no limit but the batch processor's). */
  readonly timeout: Duration.Duration
  /** Set for a Langfuse project: what its spans carry in addition. */
  readonly langfuse?: {
    readonly environment: string | undefined
    readonly release: string | undefined
  } | undefined
}

/**
 * Where the GenAI metrics (and the program's Effect metrics) are pushed.
 *
 * @since 0.2.0
 */
export interface MetricsDestination {
  /** The full metrics URL, e.g. `http://localhost:4318/v1/metrics`. */
  readonly url: string
  readonly headers: Readonly<Record<string, Redacted.Redacted<string>>>
  readonly protocol: Protocol
  readonly compression: Compression
  readonly timeout: Duration.Duration
  /** Time between exports (`OTEL_METRIC_EXPORT_INTERVAL`, default 60 s). */
  readonly interval: Duration.Duration
  /** Time one export may take (`OTEL_METRIC_EXPORT_TIMEOUT`, default 30 s). */
  readonly exportTimeout: Duration.Duration
  /** `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE` (`lowmemory` is `delta` for histograms). */
  readonly temporality: "cumulative" | "delta"
}

/**
 * The samplers of `OTEL_TRACES_SAMPLER`.
 *
 * @since 0.2.0
 */
export type SamplerName =
  | "always_on"
  | "always_off"
  | "traceidratio"
  | "parentbased_always_on"
  | "parentbased_always_off"
  | "parentbased_traceidratio"

/**
 * Which traces are recorded and exported; `ratio` applies to the `traceidratio` samplers.
 *
 * @since 0.2.0
 */
export interface Sampler {
  readonly name: SamplerName
  readonly ratio: number
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
  /** Where metrics go; none means no metrics are recorded. */
  readonly metrics: MetricsDestination | undefined
  readonly sampler: Sampler
  readonly batch: Batch
  /** How long closing the layer may spend flushing (default 5 s). */
  readonly shutdownTimeout: Duration.Duration
  /** How often dropped and failed spans are summarised in the log (default 10 s). */
  readonly reportInterval: Duration.Duration
  readonly content: ContentCapture.Options
  /** Values that must never leave the process (API keys); replaced wherever they appear. */
  readonly secrets: ReadonlyArray<Redacted.Redacted<string>>
  /** What could not be used from the environment, and what was done instead; the layer logs each. */
  readonly warnings: ReadonlyArray<string>
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
 * The default sampler of the specification: every trace, unless its remote parent was not sampled.
 *
 * @since 0.2.0
 */
export const defaultSampler: Sampler = { name: "parentbased_always_on", ratio: 1 }

const defaultExportTimeout = Duration.seconds(10)
const defaultShutdownTimeout = Duration.seconds(5)
const defaultServiceName = "unknown_service:node"

/**
 * Environment variables whose values are treated as secrets: replaced in every exported span
 * and log line.
 *
 * @since 0.1.0
 */
export const secretEnvNames: ReadonlyArray<string> = [
  "OPENAI_API_KEY",
  "ANTHROPIC_API_KEY",
  "GEMINI_API_KEY",
  "GOOGLE_API_KEY",
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
  readonly metrics?: MetricsDestination | undefined
  readonly enabled?: boolean | undefined
  readonly serviceName?: string | undefined
  readonly resourceAttributes?: Readonly<Record<string, string>> | undefined
  readonly sampler?: Sampler | undefined
  readonly batch?: Partial<Batch> | undefined
  readonly shutdownTimeout?: Duration.DurationInput | undefined
  readonly reportInterval?: Duration.DurationInput | undefined
  readonly content?: ContentCapture.Options | undefined
  readonly secrets?: ReadonlyArray<Redacted.Redacted<string>> | undefined
  readonly warnings?: ReadonlyArray<string> | undefined
}): Settings => {
  const batch = { ...defaultBatch, ...options.batch }
  return {
    enabled: options.enabled ?? true,
    serviceName: options.serviceName ?? options.resourceAttributes?.["service.name"] ?? defaultServiceName,
    resourceAttributes: options.resourceAttributes ?? {},
    destinations: options.destinations,
    metrics: options.metrics,
    sampler: options.sampler ?? defaultSampler,
    batch: { ...batch, maxExportBatchSize: Math.min(batch.maxExportBatchSize, batch.maxQueueSize) },
    shutdownTimeout: Duration.decode(options.shutdownTimeout ?? defaultShutdownTimeout),
    reportInterval: Duration.decode(options.reportInterval ?? Duration.seconds(10)),
    content: options.content ?? {},
    secrets: options.secrets ?? [],
    warnings: options.warnings ?? []
  }
}

/**
 * An OTLP destination configured in code.
 *
 * @since 0.2.0
 */
export const otlpDestination = (options: {
  readonly url: string
  readonly headers?: Readonly<Record<string, string | Redacted.Redacted<string>>> | undefined
  readonly protocol?: Protocol | undefined
  readonly compression?: Compression | undefined
  readonly timeout?: Duration.DurationInput | undefined
  readonly name?: string | undefined
}): Destination => ({
  name: options.name ?? "otlp",
  url: options.url,
  headers: Object.fromEntries(
    Object.entries(options.headers ?? {}).map(([key, value]) => [key, Redacted.isRedacted(value) ? value : Redacted.make(value)])
  ),
  protocol: options.protocol ?? "http/protobuf",
  compression: options.compression ?? "none",
  timeout: Duration.decode(options.timeout ?? defaultExportTimeout)
})

// ---------------------------------------------------------------------------------------------
// parsing (pure, exported for tests)
// ---------------------------------------------------------------------------------------------

const percentDecode = (text: string): string => {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

/**
 * Parses the `key=value,key2=value2` lists of `OTEL_EXPORTER_OTLP_HEADERS` and
 * `OTEL_RESOURCE_ATTRIBUTES`: entries trimmed and percent-decoded, split at the first `=` (so
 * base64 values keep their padding), empty entries skipped.
 *
 * @since 0.1.0
 */
export const parseKeyValues = (text: string): Either.Either<Record<string, string>, string> => {
  const entries: Array<readonly [string, string]> = []
  const parts = text.split(",")
  for (let i = 0; i < parts.length; i++) {
    const entry = parts[i]!
    if (entry.trim() === "") continue
    // The entry itself is not repeated: header values are credentials.
    const eq = entry.indexOf("=")
    if (eq < 0) return Either.left(`entry ${i + 1} is not a key=value pair`)
    const key = percentDecode(entry.slice(0, eq).trim())
    if (key === "") return Either.left(`entry ${i + 1} has an empty key`)
    entries.push([key, percentDecode(entry.slice(eq + 1).trim())])
  }
  // fromEntries defines own properties, so a key like `__proto__` stays an ordinary key.
  return Either.right(Object.fromEntries(entries))
}

/**
 * The URL of a signal under a base endpoint, as the OTLP specification says: `/v1/{signal}`
 * appended to the path; a query string stays.
 *
 * @example
 * ```ts
 * import { TelemetryConfig } from "@effect-dspy/telemetry"
 * TelemetryConfig.signalUrl("http://collector:4318/otlp?tenant=a", "traces")
 * // "http://collector:4318/otlp/v1/traces?tenant=a"
 * ```
 *
 * @since 0.2.0
 */
export const signalUrl = (base: string, signal: "traces" | "metrics"): string => {
  const url = new URL(base)
  url.pathname = `${url.pathname.replace(/\/+$/, "")}/v1/${signal}`
  return url.href
}

const httpUrl = (text: string): Either.Either<string, string> => {
  try {
    const parsed = new URL(text)
    return parsed.protocol === "http:" || parsed.protocol === "https:"
      ? Either.right(parsed.href)
      : Either.left(`"${parsed.protocol}" URLs are not supported; use http or https`)
  } catch {
    return Either.left("it is not a valid URL")
  }
}

/**
 * The environment as read: variable name to value (blank values count as unset).
 *
 * @since 0.2.0
 */
export type Environment = Readonly<Record<string, string | undefined>>

class Reader {
  readonly warnings: Array<string> = []
  constructor(readonly env: Environment) {}
  /** Records a problem once (the shared OTLP variables are read for traces and for metrics). */
  note(warning: string): void {
    if (!this.warnings.includes(warning)) this.warnings.push(warning)
  }
  get(name: string): string | undefined {
    const value = this.env[name]
    return value === undefined || value.trim() === "" ? undefined : value.trim()
  }
  first(...names: ReadonlyArray<string>): readonly [string, string] | undefined {
    for (const name of names) {
      const value = this.get(name)
      if (value !== undefined) return [name, value]
    }
    return undefined
  }
  warn(name: string, value: string, problem: string, instead: string): void {
    // An endpoint that cannot be used may still carry credentials (`grpc://user:token@host`,
    // `?api_key=`): hidden before the value is cut, so that no part of one is shown.
    const safe = Redaction.url(value)
    const shown = safe.length > 60 ? `${safe.slice(0, 60)}…` : safe
    this.note(`${name}="${shown}": ${problem}; ${instead}`)
  }
  choice<A extends string>(names: ReadonlyArray<string>, allowed: ReadonlyArray<A>, fallback: A, explain?: (v: string) => string | undefined): A {
    const found = this.first(...names)
    if (found === undefined) return fallback
    const [name, raw] = found
    const value = raw.toLowerCase()
    const match = allowed.find((a) => a === value)
    if (match !== undefined) return match
    this.warn(name, raw, explain?.(value) ?? `expected one of ${allowed.join(", ")}`, `using ${fallback}`)
    return fallback
  }
  flag(name: string, fallback: boolean, lenient = false): boolean {
    const raw = this.get(name)
    if (raw === undefined) return fallback
    const value = raw.toLowerCase()
    if (value === "true" || (lenient && ["1", "yes", "on"].includes(value))) return true
    if (value === "false" || (lenient && ["0", "no", "off"].includes(value))) return false
    this.warn(name, raw, "expected true or false", `using ${fallback}`)
    return fallback
  }
  integer(names: ReadonlyArray<string>, min: number): number | undefined {
    const found = this.first(...names)
    if (found === undefined) return undefined
    const [name, raw] = found
    const n = /^\d+$/.test(raw) ? Number(raw) : Number.NaN
    if (Number.isSafeInteger(n) && n >= min) return n
    this.warn(name, raw, `expected a whole number >= ${min}`, "using the default")
    return undefined
  }
  /** Milliseconds; 0 means no limit, as the specification says of timeouts. */
  timeout(names: ReadonlyArray<string>, fallback: Duration.Duration): Duration.Duration {
    const ms = this.integer(names, 0)
    return ms === undefined ? fallback : ms === 0 ? Duration.infinity : Duration.millis(ms)
  }
  /** `check` finds what makes a parsed list unusable (as a whole: the variable is then ignored). */
  keyValues(names: ReadonlyArray<string>, check: (entries: Record<string, string>) => string | undefined = () => undefined): Record<string, string> {
    const out: Record<string, string> = {}
    for (const name of names) {
      const raw = this.get(name)
      if (raw === undefined) continue
      const parsed = Either.flatMap(parseKeyValues(raw), (entries) => {
        const problem = check(entries)
        return problem === undefined ? Either.right(entries) : Either.left(problem)
      })
      if (Either.isRight(parsed)) Object.assign(out, parsed.right)
      // The value may hold credentials: it is not repeated in the warning.
      else this.note(`${name}: ${parsed.left}; the variable is ignored`)
    }
    return out
  }
  exporters(name: string, supported: string, unsupported: ReadonlyArray<string>): boolean {
    const raw = this.get(name)
    if (raw === undefined) return true
    const names = raw.split(",").map((s) => s.trim().toLowerCase()).filter((s) => s !== "")
    for (const exporter of names) {
      if (exporter === supported || exporter === "none") continue
      this.warn(
        name,
        raw,
        unsupported.includes(exporter) ? `the "${exporter}" exporter is not supported here` : `unknown exporter "${exporter}"`,
        `ignoring it`
      )
    }
    return names.includes(supported)
  }
}

const protocols: ReadonlyArray<Protocol> = ["http/protobuf", "http/json"]
const compressions: ReadonlyArray<Compression> = ["gzip", "none"]
const samplers: ReadonlyArray<SamplerName> = [
  "always_on",
  "always_off",
  "traceidratio",
  "parentbased_always_on",
  "parentbased_always_off",
  "parentbased_traceidratio"
]

const explainProtocol = (value: string) =>
  value === "grpc" ? "grpc is not supported (OTLP/HTTP only)" : `unknown protocol; expected http/protobuf or http/json`

const readSampler = (env: Reader): Sampler => {
  const name = env.choice(["OTEL_TRACES_SAMPLER"], samplers, defaultSampler.name, (value) =>
    ["jaeger_remote", "parentbased_jaeger_remote", "xray"].includes(value)
      ? `the ${value} sampler is not supported here`
      : `unknown sampler; expected one of ${samplers.join(", ")}`)
  if (name !== "traceidratio" && name !== "parentbased_traceidratio") return { name, ratio: 1 }
  const raw = env.get("OTEL_TRACES_SAMPLER_ARG")
  if (raw === undefined) return { name, ratio: 1 }
  const ratio = Number(raw)
  if (raw !== "" && Number.isFinite(ratio) && ratio >= 0 && ratio <= 1) return { name, ratio }
  env.warn("OTEL_TRACES_SAMPLER_ARG", raw, "expected a ratio between 0 and 1", "using 1.0")
  return { name, ratio: 1 }
}

const readBatch = (env: Reader): Batch => {
  const maxQueueSize = env.integer(["OTEL_BSP_MAX_QUEUE_SIZE"], 1) ?? defaultBatch.maxQueueSize
  const scheduleDelay = env.integer(["OTEL_BSP_SCHEDULE_DELAY"], 0)
  return {
    maxQueueSize,
    // The processor never sends more than it can queue.
    maxExportBatchSize: Math.min(maxQueueSize, env.integer(["OTEL_BSP_MAX_EXPORT_BATCH_SIZE"], 1) ?? defaultBatch.maxExportBatchSize),
    scheduleDelay: scheduleDelay === undefined ? defaultBatch.scheduleDelay : Duration.millis(scheduleDelay),
    exportTimeout: env.timeout(["OTEL_BSP_EXPORT_TIMEOUT"], defaultBatch.exportTimeout)
  }
}

/** The URL of a signal: its own variable as is, else under the base endpoint. */
const readEndpoint = (env: Reader, signal: "traces" | "metrics"): string | undefined => {
  const own = `OTEL_EXPORTER_OTLP_${signal.toUpperCase()}_ENDPOINT`
  const specific = env.get(own)
  if (specific !== undefined) {
    const url = httpUrl(specific)
    if (Either.isRight(url)) return url.right
    env.warn(own, specific, url.left, `no ${signal} are exported over OTLP`)
    return undefined
  }
  const base = env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
  if (base === undefined) return undefined
  const url = httpUrl(base)
  if (Either.isRight(url)) return signalUrl(url.right, signal)
  // Reported once, for traces.
  if (signal === "traces") env.warn("OTEL_EXPORTER_OTLP_ENDPOINT", base, url.left, "nothing is exported over OTLP")
  return undefined
}

// RFC 9110 field names (tokens), and values without line breaks or NUL (percent-decoding can
// make them): `fetch` refuses anything else, and every export would fail as if the network had.
const headerName = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
const headerValue = /^[^\r\n\0]*$/

/** What makes a header list unusable; names are shown, values never (they are credentials). */
const headerProblem = (headers: Readonly<Record<string, string>>): string | undefined => {
  for (const [name, value] of Object.entries(headers)) {
    if (!headerName.test(name)) return `"${name}" is not a valid header name`
    if (!headerValue.test(value)) return `the value of header "${name}" holds a line break or NUL`
  }
  return undefined
}

const readOtlp = (env: Reader, signal: "traces" | "metrics") => {
  const upper = signal.toUpperCase()
  const headers = env.keyValues(["OTEL_EXPORTER_OTLP_HEADERS", `OTEL_EXPORTER_OTLP_${upper}_HEADERS`], headerProblem)
  return {
    headers: Object.fromEntries(Object.entries(headers).map(([key, value]) => [key, Redacted.make(value)] as const)),
    protocol: env.choice([`OTEL_EXPORTER_OTLP_${upper}_PROTOCOL`, "OTEL_EXPORTER_OTLP_PROTOCOL"], protocols, "http/protobuf", explainProtocol),
    compression: env.choice([`OTEL_EXPORTER_OTLP_${upper}_COMPRESSION`, "OTEL_EXPORTER_OTLP_COMPRESSION"], compressions, "none"),
    timeout: env.timeout([`OTEL_EXPORTER_OTLP_${upper}_TIMEOUT`, "OTEL_EXPORTER_OTLP_TIMEOUT"], defaultExportTimeout)
  }
}

const langfuseEnvironment = /^(?!langfuse)[a-z0-9_-]{1,40}$/

const readLangfuse = (env: Reader): Destination | undefined => {
  const publicKey = env.get("LANGFUSE_PUBLIC_KEY")
  const secretKey = env.get("LANGFUSE_SECRET_KEY")
  if (publicKey === undefined && secretKey === undefined) return undefined
  if (!env.flag("LANGFUSE_TRACING_ENABLED", true)) return undefined
  if (publicKey === undefined || secretKey === undefined) {
    env.note(
      `${publicKey === undefined ? "LANGFUSE_SECRET_KEY" : "LANGFUSE_PUBLIC_KEY"} is set but ` +
        `${publicKey === undefined ? "LANGFUSE_PUBLIC_KEY" : "LANGFUSE_SECRET_KEY"} is not; nothing is exported to Langfuse`
    )
    return undefined
  }
  const found = env.first("LANGFUSE_BASE_URL", "LANGFUSE_HOST")
  if (found !== undefined && Either.isLeft(httpUrl(found[1]))) {
    env.warn(found[0], found[1], "it is not a valid http(s) URL", "nothing is exported to Langfuse")
    return undefined
  }
  let environment = env.get("LANGFUSE_TRACING_ENVIRONMENT")
  if (environment !== undefined && !langfuseEnvironment.test(environment)) {
    env.warn(
      "LANGFUSE_TRACING_ENVIRONMENT",
      environment,
      "Langfuse accepts lower-case letters, digits, - and _ (at most 40, not starting with langfuse)",
      "no environment is set"
    )
    environment = undefined
  }
  return Langfuse.destination({
    publicKey,
    secretKey: Redacted.make(secretKey),
    baseUrl: found?.[1],
    environment,
    release: env.get("LANGFUSE_RELEASE"),
    compression: env.choice(["EFFECT_DSPY_LANGFUSE_COMPRESSION"], compressions, "gzip")
  })
}

// TLS client settings of the specification this package does not read: a custom CA or a client
// certificate set here would otherwise be ignored without a word, and exports fail on TLS.
const tlsVariables = ["", "TRACES_", "METRICS_"].flatMap((signal) =>
  ["CERTIFICATE", "CLIENT_KEY", "CLIENT_CERTIFICATE"].map((name) => `OTEL_EXPORTER_OTLP_${signal}${name}`)
)

const warnUnsupported = (env: Reader): void => {
  for (const name of tlsVariables) {
    if (env.get(name) === undefined) continue
    // The value is a path: nothing secret, but nothing to show either.
    env.note(`${name} is not supported here: requests use Node's trusted CAs (add one with NODE_EXTRA_CA_CERTS); the variable is ignored`)
  }
}

/**
 * Content capture is opt-in: `EFFECT_DSPY_CAPTURE_CONTENT`, else the variable OpenTelemetry's
 * GenAI instrumentations read (`OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`); off when
 * neither is set.
 */
const readCapture = (env: Reader): boolean =>
  env.get("EFFECT_DSPY_CAPTURE_CONTENT") !== undefined
    ? env.flag("EFFECT_DSPY_CAPTURE_CONTENT", false, true)
    : env.flag("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", false, true)

const readShutdownTimeout = (env: Reader): Duration.Duration => {
  const raw = env.get("EFFECT_DSPY_TELEMETRY_SHUTDOWN_TIMEOUT")
  if (raw === undefined) return defaultShutdownTimeout
  const decoded = /^\d+$/.test(raw) ? Option.some(Duration.millis(Number(raw))) : Duration.decodeUnknown(raw)
  if (Option.isSome(decoded)) return decoded.value
  env.warn("EFFECT_DSPY_TELEMETRY_SHUTDOWN_TIMEOUT", raw, "expected milliseconds or a duration such as \"5 seconds\"", "using 5 seconds")
  return defaultShutdownTimeout
}

/**
 * Settings from the environment's values (pure; `fromEnv` reads them through `Config`).
 *
 * @since 0.2.0
 */
export const fromEnvironment = (environment: Environment, secrets: ReadonlyArray<Redacted.Redacted<string>> = []): Settings => {
  const env = new Reader(environment)
  const disabled = env.flag("OTEL_SDK_DISABLED", false)
  const resourceAttributes = env.keyValues(["OTEL_RESOURCE_ATTRIBUTES"])
  const serviceName = env.get("OTEL_SERVICE_NAME") ?? resourceAttributes["service.name"] ?? defaultServiceName
  const destinations: Array<Destination> = []
  if (env.exporters("OTEL_TRACES_EXPORTER", "otlp", ["console", "zipkin", "jaeger"])) {
    const url = readEndpoint(env, "traces")
    if (url !== undefined) destinations.push({ name: "otlp", url, ...readOtlp(env, "traces") })
  }
  let metrics: MetricsDestination | undefined = undefined
  if (env.exporters("OTEL_METRICS_EXPORTER", "otlp", ["console", "prometheus"])) {
    const url = readEndpoint(env, "metrics")
    if (url !== undefined) {
      const interval = env.integer(["OTEL_METRIC_EXPORT_INTERVAL"], 1)
      metrics = {
        url,
        ...readOtlp(env, "metrics"),
        interval: Duration.millis(interval ?? 60_000),
        exportTimeout: env.timeout(["OTEL_METRIC_EXPORT_TIMEOUT"], Duration.seconds(30)),
        temporality: env.choice(["OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"], ["cumulative", "delta", "lowmemory"], "cumulative") ===
            "cumulative"
          ? "cumulative"
          : "delta"
      }
    }
  }
  warnUnsupported(env)
  const langfuse = readLangfuse(env)
  if (langfuse !== undefined) destinations.push(langfuse)
  const maxLength = env.integer(["EFFECT_DSPY_CONTENT_MAX_LENGTH"], 1)
  const settings = make({
    enabled: !disabled && (destinations.length > 0 || metrics !== undefined),
    destinations: disabled ? [] : destinations,
    metrics: disabled ? undefined : metrics,
    serviceName,
    resourceAttributes,
    sampler: readSampler(env),
    batch: readBatch(env),
    content: { capture: readCapture(env), maxLength },
    secrets,
    shutdownTimeout: readShutdownTimeout(env)
  })
  return { ...settings, warnings: env.warnings }
}

/**
 * The variables `fromEnv` reads.
 *
 * @since 0.2.0
 */
export const variables: ReadonlyArray<string> = [
  "OTEL_SDK_DISABLED",
  "OTEL_SERVICE_NAME",
  "OTEL_RESOURCE_ATTRIBUTES",
  "OTEL_TRACES_EXPORTER",
  "OTEL_METRICS_EXPORTER",
  "OTEL_TRACES_SAMPLER",
  "OTEL_TRACES_SAMPLER_ARG",
  ...["", "TRACES_", "METRICS_"].flatMap((signal) =>
    ["ENDPOINT", "HEADERS", "PROTOCOL", "COMPRESSION", "TIMEOUT"].map((name) => `OTEL_EXPORTER_OTLP_${signal}${name}`)
  ),
  "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
  "OTEL_METRIC_EXPORT_INTERVAL",
  "OTEL_METRIC_EXPORT_TIMEOUT",
  "OTEL_BSP_MAX_QUEUE_SIZE",
  "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
  "OTEL_BSP_SCHEDULE_DELAY",
  "OTEL_BSP_EXPORT_TIMEOUT",
  ...tlsVariables,
  "LANGFUSE_PUBLIC_KEY",
  "LANGFUSE_SECRET_KEY",
  "LANGFUSE_BASE_URL",
  "LANGFUSE_HOST",
  "LANGFUSE_TRACING_ENABLED",
  "LANGFUSE_TRACING_ENVIRONMENT",
  "LANGFUSE_RELEASE",
  "EFFECT_DSPY_LANGFUSE_COMPRESSION",
  "EFFECT_DSPY_CAPTURE_CONTENT",
  "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
  "EFFECT_DSPY_CONTENT_MAX_LENGTH",
  "EFFECT_DSPY_TELEMETRY_SHUTDOWN_TIMEOUT"
]

const optional = (name: string): Config.Config<string | undefined> =>
  Config.map(Config.option(Config.string(name)), Option.getOrUndefined)

/**
 * The values of the `secretEnvNames` variables that are set.
 *
 * @since 0.1.0
 */
export const secrets: Config.Config<ReadonlyArray<Redacted.Redacted<string>>> = Config.map(
  Config.all(secretEnvNames.map((name) => Config.option(Config.redacted(name)))),
  (values) => values.flatMap((v) => (Option.isSome(v) && Redacted.value(v.value).trim() !== "" ? [v.value] : []))
)

/**
 * All settings from the environment. Export is enabled when an OTLP endpoint or both Langfuse
 * keys are set and `OTEL_SDK_DISABLED` is not `true`. Values that cannot be used become
 * `warnings` (the layer logs them) instead of errors.
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
export const fromEnv: Config.Config<Settings> = Config.map(
  Config.all({
    values: Config.all(Object.fromEntries(variables.map((name) => [name, optional(name)]))),
    secrets
  }),
  ({ secrets, values }) => fromEnvironment(values, secrets)
)
