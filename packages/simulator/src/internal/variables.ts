/**
 * The simulator's settings as `SIM_*` variables and `bin.ts` flags: which option each sets and
 * the range of its value. One table serves the option checks (`SimulatorConfig.resolve`), the
 * variables (`SimulatorConfig.config`) and the command line.
 */

/** A rule on a number: what the number must be when it is not, else undefined. */
export type Rule = (x: number) => string | undefined

const fraction: Rule = (x) => Number.isFinite(x) && x >= 0 && x <= 1 ? undefined : "a fraction between 0 and 1"
export const nonNegative: Rule = (x) => Number.isFinite(x) && x >= 0 ? undefined : "a finite number of at least 0"
const positive: Rule = (x) => Number.isFinite(x) && x > 0 ? undefined : "a finite number above 0"
const count: Rule = (x) => Number.isSafeInteger(x) && x >= 1 ? undefined : "a whole number of at least 1"
const integer: Rule = (x) => Number.isSafeInteger(x) ? undefined : "a whole number"
const port: Rule = (x) => Number.isSafeInteger(x) && x >= 0 && x <= 65535 ? undefined : "a port number (0 to 65535)"

/** A number option: its path in `ServerOptions`, its variable, its flag and its rule. */
export interface NumberOption {
  readonly path: string
  readonly variable: string
  readonly flag: string
  readonly rule: Rule
}

const option = (path: string, variable: string, flag: string, rule: Rule): NumberOption => ({ path, variable, flag, rule })

/** The number options, in the order their problems are reported. */
export const numberOptions: ReadonlyArray<NumberOption> = [
  option("seed", "SIM_SEED", "seed", integer),
  option("port", "SIM_PORT", "port", port),
  option("timeToFirstTokenMillis", "SIM_TTFT_MS", "ttft", nonNegative),
  option("tokensPerSecond", "SIM_TOKENS_PER_SECOND", "tps", positive),
  option("faults.rateLimit", "SIM_FAULT_RATE_LIMIT", "rate-limit", fraction),
  option("faults.serverError", "SIM_FAULT_SERVER_ERROR", "server-error", fraction),
  option("faults.reset", "SIM_FAULT_RESET", "reset", fraction),
  option("faults.truncate", "SIM_FAULT_TRUNCATE", "truncate", fraction),
  option("faults.malformed", "SIM_FAULT_MALFORMED", "malformed", fraction),
  option("faults.retryAfterSeconds", "SIM_RETRY_AFTER_SECONDS", "retry-after", nonNegative),
  option("faults.inBandError", "SIM_FAULT_IN_BAND_ERROR", "in-band-error", fraction),
  option("faults.think", "SIM_FAULT_THINK", "think", fraction),
  option("faults.fencedJson", "SIM_FAULT_FENCED_JSON", "fenced-json", fraction),
  option("faults.contentArrays", "SIM_FAULT_CONTENT_ARRAYS", "content-arrays", fraction),
  option("drift", "SIM_DRIFT", "drift", fraction),
  option("limits.maxConcurrent", "SIM_MAX_CONCURRENT", "max-concurrent", count),
  option("limits.requestsPerMinute", "SIM_RPM", "rpm", count)
]

/** The variables that are not numbers, by flag. */
export const textVariables: Readonly<Record<string, string>> = {
  host: "SIM_HOST",
  latency: "SIM_LATENCY",
  "latency-sampling": "SIM_LATENCY_SAMPLING",
  faults: "SIM_FAULTS",
  "api-key": "SIM_API_KEY",
  model: "SIM_MODEL"
}
