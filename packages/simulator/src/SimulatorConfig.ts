/**
 * Options of the simulator (in-process model and HTTP server) and their defaults.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type { ScriptRule } from "./Script.js"
import * as Variables from "./internal/variables.js"

const { numberOptions } = Variables

/**
 * How long an answer takes, sampled per request from a seeded generator.
 *
 * @since 0.1.0
 */
export type Latency =
  | { readonly _tag: "Fixed"; readonly millis: number }
  | { readonly _tag: "Uniform"; readonly minMillis: number; readonly maxMillis: number }
  | { readonly _tag: "LogNormal"; readonly medianMillis: number; readonly sigma: number }

/**
 * How a request's latency is drawn: `"sequence"` (the default) takes the next number of the
 * seeded generator, so a request's latency depends on how many came before it; `"request"`
 * seeds the draw with a hash of the request (its messages, tools and per-request seed) mixed
 * with `seed`, so the same request takes the same time in any order or at any concurrency.
 *
 * @since 0.1.0
 */
export type LatencySampling = "sequence" | "request"

/**
 * Fault injection: each field is the fraction (0..1) of requests that get that fault or quirk.
 *
 * @since 0.1.0
 */
export interface Faults {
  /** 429 with `Retry-After` / `retry-after-ms`. */
  readonly rateLimit?: number
  /** 500 or 503 (Anthropic Messages: 500 or 529 `overloaded_error`, as that API answers). */
  readonly serverError?: number
  /** The connection is destroyed before an answer (in-process: a transport error). */
  readonly reset?: number
  /**
   * Streams stop mid-answer without their end marker: no finish reason and no `[DONE]`, no
   * `message_stop`, no `response.completed` (in-process: no `finish` part).
   */
  readonly truncate?: number
  /** The answer is malformed: broken JSON or missing field markers. */
  readonly malformed?: number
  /** Seconds announced in `Retry-After` for injected and limit 429s (default 1). */
  readonly retryAfterSeconds?: number
  /**
   * An error inside a reply already started with 200: streams send some tokens, then OpenAI's
   * `data: {"error": …}`, Anthropic's `event: error`, or the Responses API's `error` /
   * `response.failed`, and end there; whole replies are a 200 body carrying the error (Anthropic:
   * a 529 `overloaded_error` or a 500). In-process: streams end with an `error` part and no
   * `finish` part; whole replies fail with an `HttpResponseError` of status 529 or 500.
   *
   * @since 0.2.0
   */
  readonly inBandError?: number
  /**
   * Reasoning before the answer: a `<think>…</think>` block in the text (sometimes only its
   * closing tag), or reasoning on its own channel: `reasoning_content` deltas on chat
   * completions, a `thinking` block on Messages, reasoning parts in-process.
   *
   * @since 0.2.0
   */
  readonly think?: number
  /** JSON replies inside a ```json fence, sometimes after a sentence of prose. @since 0.2.0 */
  readonly fencedJson?: number
  /**
   * Chat completions only: `content` as an array of typed parts (`[{"type": "text", …}]`, and
   * `thinking` parts for reasoning), as Mistral writes it, in replies and in deltas.
   *
   * @since 0.2.0
   */
  readonly contentArrays?: number
}

/**
 * The `realistic` fault profile: what real servers send that a client must survive, each on a
 * share of replies: in-band errors (3%), streams cut without their end marker (3%), reasoning
 * before the answer (15%), fenced JSON (25% of JSON replies) and typed content arrays (20% of
 * chat completions). No 429s, 5xx or resets: add them (`{ ...realistic, rateLimit: 0.05 }`).
 *
 * @since 0.2.0
 */
export const realistic: Faults = {
  inBandError: 0.03,
  truncate: 0.03,
  think: 0.15,
  fencedJson: 0.25,
  contentArrays: 0.2
}

/**
 * Server-side limits; requests beyond them get 429 with `Retry-After`.
 *
 * @since 0.1.0
 */
export interface Limits {
  /** Most requests being answered at once. */
  readonly maxConcurrent?: number
  /** Most requests admitted in any sliding 60 s window. */
  readonly requestsPerMinute?: number
}

/**
 * Everything that shapes the simulator's behaviour.
 *
 * @since 0.1.0
 */
export interface SimulatorOptions {
  /** Seed of every random choice (answers, latency, faults). Default 0. */
  readonly seed?: number
  /** Latency of a whole answer (streams: before the first token). Default `Fixed 0`. */
  readonly latency?: Latency
  /** How each request's latency is drawn (see {@link LatencySampling}). Default `"sequence"`. */
  readonly latencySampling?: LatencySampling
  /** Extra delay before the first token of a stream (added to the latency). */
  readonly timeToFirstTokenMillis?: number
  /** Pace of streamed tokens; `undefined` sends them all at once. */
  readonly tokensPerSecond?: number
  /**
   * Injected faults and server quirks, or `"realistic"`: the profile of what real servers send
   * (in-band errors, streams cut without their end marker, think blocks, fenced JSON, typed
   * content arrays; see {@link realistic}).
   */
  readonly faults?: Faults | "realistic"
  /**
   * Share (0..1) of replies written with the near-misses real models write: literals with other
   * case, quotes or a trailing period (`Billing`, `'billing'`, `billing.`), numbers as strings or
   * with a unit (`"0.9"`, `0.9 points`), booleans as `True` / `yes`, Python-style lists and
   * objects (`[{'name': 'Ada'}]`, `None`) or trailing commas, a whole field-marker reply written
   * as JSON, a `<think>` block first, a field marker quoted mid-line in reasoning text. Which
   * replies drift, and how, follows from the request and `seed`. Default 0.
   *
   * @since 0.2.0
   */
  readonly drift?: number
  /** Server-side limits. */
  readonly limits?: Limits
  /** Scripted answers: the first rule that returns an answer wins. */
  readonly script?: ReadonlyArray<ScriptRule>
  /** When set, the HTTP server requires this key (`Authorization: Bearer` / `x-api-key`). */
  readonly apiKey?: string
  /** Model name reported in replies. Default `"sim-1"`. */
  readonly model?: string
}

/**
 * Options of the HTTP server: the simulator's options plus where to listen.
 *
 * @since 0.1.0
 */
export interface ServerOptions extends SimulatorOptions {
  /** Port; 0 (default) picks a free one. */
  readonly port?: number
  /** Host; default `127.0.0.1`. */
  readonly host?: string
}

/**
 * Options with every default filled in.
 *
 * @since 0.1.0
 */
export interface Resolved {
  readonly seed: number
  readonly latency: Latency
  readonly latencySampling: LatencySampling
  readonly timeToFirstTokenMillis: number
  readonly tokensPerSecond: number | undefined
  readonly faults: Required<Faults>
  readonly drift: number
  readonly limits: {
    readonly maxConcurrent: number | undefined
    readonly requestsPerMinute: number | undefined
  }
  readonly script: ReadonlyArray<ScriptRule>
  readonly apiKey: string | undefined
  readonly model: string
}

/**
 * An option out of its range (a fraction above 1, a negative latency, a limit of 0, …): the
 * simulator refuses it rather than clamp it to something the caller did not ask for.
 *
 * @since 0.2.0
 */
export class SimulatorConfigError extends Schema.TaggedError<SimulatorConfigError>()("SimulatorConfigError", {
  /** The option, as a path into `SimulatorOptions` (e.g. `faults.rateLimit`). */
  option: Schema.String,
  message: Schema.String
}) {}

const NO_FAULTS: Required<Faults> = {
  rateLimit: 0,
  serverError: 0,
  reset: 0,
  truncate: 0,
  malformed: 0,
  retryAfterSeconds: 1,
  inBandError: 0,
  think: 0,
  fencedJson: 0,
  contentArrays: 0
}

/** The value at a path such as `faults.rateLimit` (undefined when a step is missing). */
const valueAt = (options: ServerOptions, path: string): unknown =>
  path.split(".").reduce<unknown>(
    (value, key) => typeof value === "object" && value !== null ? (value as Record<string, unknown>)[key] : undefined,
    options
  )

/** The first problem of some options, as an error naming the option. */
const problemOf = (options: ServerOptions): SimulatorConfigError | undefined => {
  const problem = (option: string, message: string) => new SimulatorConfigError({ option, message })
  const { faults, latency, latencySampling } = options
  if (latency !== undefined && !["Fixed", "Uniform", "LogNormal"].includes(latency._tag)) {
    return problem("latency", "latency must be Fixed, Uniform or LogNormal")
  }
  if (latencySampling !== undefined && latencySampling !== "sequence" && latencySampling !== "request") {
    return problem("latencySampling", `latencySampling must be "sequence" or "request", got ${JSON.stringify(latencySampling)}`)
  }
  if (typeof faults === "string" && faults !== "realistic") {
    return problem("faults", `faults must be an object or "realistic", got ${JSON.stringify(faults)}`)
  }
  const unknownFault = typeof faults === "object" ? Object.keys(faults).find((key) => !Object.hasOwn(NO_FAULTS, key)) : undefined
  if (unknownFault !== undefined) {
    return problem(`faults.${unknownFault}`, `unknown fault "${unknownFault}"; the faults are ${Object.keys(NO_FAULTS).join(", ")}`)
  }
  const checks: Array<readonly [string, unknown, Variables.Rule]> = numberOptions.map((o) => [o.path, valueAt(options, o.path), o.rule])
  if (latency?._tag === "Fixed") checks.push(["latency.millis", latency.millis, Variables.nonNegative])
  if (latency?._tag === "LogNormal") {
    checks.push(["latency.medianMillis", latency.medianMillis, Variables.nonNegative], ["latency.sigma", latency.sigma, Variables.nonNegative])
  }
  if (latency?._tag === "Uniform") {
    const atLeastMin: Variables.Rule = (x) =>
      Variables.nonNegative(x) ?? (x >= latency.minMillis ? undefined : `at least latency.minMillis (${latency.minMillis})`)
    checks.push(["latency.minMillis", latency.minMillis, Variables.nonNegative], ["latency.maxMillis", latency.maxMillis, atLeastMin])
  }
  for (const [option, value, rule] of checks) {
    const wrong = value === undefined ? undefined : typeof value === "number" ? rule(value) : "a number"
    if (wrong !== undefined) return problem(option, `${option} must be ${wrong}, got ${String(value)}`)
  }
  return options.model === "" ? problem("model", "model must not be empty") : undefined
}

/**
 * The default options: no latency, no faults, no limits, model `sim-1`.
 *
 * @since 0.1.0
 */
export const defaults: Resolved = {
  seed: 0,
  latency: { _tag: "Fixed", millis: 0 },
  latencySampling: "sequence",
  timeToFirstTokenMillis: 0,
  tokensPerSecond: undefined,
  faults: NO_FAULTS,
  drift: 0,
  limits: { maxConcurrent: undefined, requestsPerMinute: undefined },
  script: [],
  apiKey: undefined,
  model: "sim-1"
}

/**
 * Checks some options and fills in their defaults; a value out of its range is a
 * {@link SimulatorConfigError} naming the option. An empty `apiKey` means none.
 *
 * @example
 * ```ts
 * import { SimulatorConfig } from "@effect-dspy/simulator"
 * import { Either } from "effect"
 *
 * // Left: "faults.rateLimit must be a fraction between 0 and 1, got 5"
 * const refused = SimulatorConfig.resolve({ faults: { rateLimit: 5 } })
 * console.log(Either.isLeft(refused))
 * ```
 *
 * @since 0.1.0
 */
export const resolve = (options: SimulatorOptions = {}): Either.Either<Resolved, SimulatorConfigError> => {
  const problem = problemOf(options)
  if (problem !== undefined) return Either.left(problem)
  return Either.right({
    seed: options.seed ?? defaults.seed,
    latency: options.latency ?? defaults.latency,
    latencySampling: options.latencySampling ?? defaults.latencySampling,
    timeToFirstTokenMillis: options.timeToFirstTokenMillis ?? 0,
    tokensPerSecond: options.tokensPerSecond,
    // a fault set to undefined (from JavaScript) keeps its default
    // a fault given as undefined (from JavaScript) keeps its default
    faults: {
      ...NO_FAULTS,
      ...Object.fromEntries(Object.entries(options.faults === "realistic" ? realistic : options.faults ?? {}).filter(([, x]) => x !== undefined))
    },
    drift: options.drift ?? 0,
    limits: {
      maxConcurrent: options.limits?.maxConcurrent,
      requestsPerMinute: options.limits?.requestsPerMinute
    },
    script: options.script ?? [],
    apiKey: options.apiKey === "" ? undefined : options.apiKey,
    model: options.model ?? defaults.model
  })
}

/**
 * Parses a latency written as `200` / `fixed:200`, `uniform:50-300` or `lognormal:400,0.6`.
 *
 * @since 0.1.0
 */
export const parseLatency = (text: string): Option.Option<Latency> => {
  const spec = text.trim().toLowerCase()
  const [kind, rest = ""] = spec.includes(":") ? spec.split(":", 2) : ["fixed", spec]
  const [a, b] = (kind === "fixed" ? [rest] : rest.split(kind === "uniform" ? /[-,]/ : ",", 2))
    .map((n) => n.trim() === "" ? NaN : Number(n)) as [number, number | undefined]
  const latency: Latency | undefined = kind === "fixed"
    ? { _tag: "Fixed", millis: a }
    : kind === "uniform"
    ? { _tag: "Uniform", minMillis: a, maxMillis: b ?? NaN }
    : kind === "lognormal"
    ? { _tag: "LogNormal", medianMillis: a, sigma: b ?? NaN }
    : undefined
  // the same range checks as the option
  return latency === undefined || problemOf({ latency }) !== undefined ? Option.none() : Option.some(latency)
}

/**
 * Reads server options from configuration (environment variables by default):
 * `SIM_PORT`, `SIM_HOST`, `SIM_SEED`, `SIM_LATENCY` (see {@link parseLatency}),
 * `SIM_LATENCY_SAMPLING` (`sequence` or `request`), `SIM_TTFT_MS`, `SIM_TOKENS_PER_SECOND`,
 * `SIM_FAULTS` (`realistic`: the {@link realistic} profile, under the single faults below),
 * `SIM_FAULT_RATE_LIMIT`, `SIM_FAULT_SERVER_ERROR`, `SIM_FAULT_RESET`, `SIM_FAULT_TRUNCATE`,
 * `SIM_FAULT_MALFORMED`, `SIM_FAULT_IN_BAND_ERROR`, `SIM_FAULT_THINK`, `SIM_FAULT_FENCED_JSON`,
 * `SIM_FAULT_CONTENT_ARRAYS`, `SIM_RETRY_AFTER_SECONDS`, `SIM_DRIFT`, `SIM_MAX_CONCURRENT`,
 * `SIM_RPM`, `SIM_API_KEY` (redacted), `SIM_MODEL`.
 *
 * @since 0.1.0
 */
export const config: Config.Config<ServerOptions> = Config.all({
  numbers: Config.all(numberOptions.map(({ rule, variable }) =>
    Config.option(Config.number(variable).pipe(Config.mapOrFail((x) => {
      const wrong = rule(x)
      return wrong === undefined ? Either.right(x) : Either.left(ConfigError.InvalidData([], `${variable} must be ${wrong}, got ${x}`))
    })))
  )),
  host: Config.option(Config.string("SIM_HOST")),
  latency: Config.option(Config.string("SIM_LATENCY").pipe(Config.mapOrFail((s) =>
    Either.fromOption(parseLatency(s), () => ConfigError.InvalidData([], `bad latency: ${s}`))
  ))),
  latencySampling: Config.option(Config.literal("sequence", "request")("SIM_LATENCY_SAMPLING")),
  profile: Config.option(Config.literal("realistic")("SIM_FAULTS")),
  apiKey: Config.option(Config.redacted("SIM_API_KEY")),
  model: Config.option(Config.nonEmptyString("SIM_MODEL"))
}).pipe(Config.map((c): ServerOptions => {
  // the profile first, so that a single fault set beside it wins
  const groups: Record<string, Record<string, unknown>> = { faults: Option.isSome(c.profile) ? { ...realistic } : {}, limits: {} }
  const options: Record<string, unknown> = { ...groups }
  numberOptions.forEach(({ path }, i) => {
    const [group, key] = path.split(".") as [string, string | undefined]
    Option.map(c.numbers[i]!, (x) => key === undefined ? (options[group] = x) : (groups[group]![key] = x))
  })
  const text: Record<string, Option.Option<unknown>> = {
    host: c.host, latency: c.latency, latencySampling: c.latencySampling,
    model: c.model,
    apiKey: Option.map(c.apiKey, Redacted.value)
  }
  for (const [key, value] of Object.entries(text)) if (Option.isSome(value)) options[key] = value.value
  // every key was set from `numberOptions` (paths into `ServerOptions`) or a variable of its type
  return options as ServerOptions
}))
