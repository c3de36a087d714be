/**
 * Runs the simulator server from the command line and prints its URL.
 *
 *   pnpm exec tsx packages/simulator/src/bin.ts --port 8787 [--latency lognormal:400,0.6] [--faults realistic]
 *
 * Flags (each also readable from the environment, see `SimulatorConfig.config`):
 * --port, --host, --seed, --latency (`200`, `fixed:200`, `uniform:50-300`, `lognormal:400,0.6`),
 * --ttft (ms), --tps (tokens per second), --faults realistic (the realistic profile, under the
 * single faults), the fractions --rate-limit, --server-error, --reset, --truncate, --malformed,
 * --in-band-error, --think, --fenced-json, --content-arrays and --drift, --retry-after (seconds),
 * --max-concurrent, --rpm, --api-key, --model.
 *
 * @since 0.1.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as SimulatorConfig from "./SimulatorConfig.js"
import * as SimulatorServer from "./SimulatorServer.js"

const USAGE = `usage: bin.ts [--port 8787] [--host 127.0.0.1] [--seed N] [--latency SPEC] [--ttft MS] [--tps N]
              [--faults realistic] [--rate-limit F] [--server-error F] [--reset F] [--truncate F] [--malformed F]
              [--in-band-error F] [--think F] [--fenced-json F] [--content-arrays F] [--drift F] [--retry-after S]
              [--max-concurrent N] [--rpm N] [--api-key KEY] [--model NAME]`

/** Numeric flags of the fault set, by the option they set. */
const FAULT_FLAGS: ReadonlyArray<readonly [string, keyof SimulatorConfig.Faults]> = [
  ["rate-limit", "rateLimit"],
  ["server-error", "serverError"],
  ["reset", "reset"],
  ["truncate", "truncate"],
  ["malformed", "malformed"],
  ["in-band-error", "inBandError"],
  ["think", "think"],
  ["fenced-json", "fencedJson"],
  ["content-arrays", "contentArrays"],
  ["retry-after", "retryAfterSeconds"]
]

const OTHER_FLAGS = ["port", "host", "seed", "latency", "ttft", "tps", "faults", "drift", "max-concurrent", "rpm", "api-key", "model"]

/** Reads `--name value` and `--name=value` pairs. */
const readFlags = (argv: ReadonlyArray<string>): Effect.Effect<Map<string, string>, string> =>
  Effect.suspend(() => {
    const flags = new Map<string, string>()
    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i]!
      if (arg === "--help" || arg === "-h") return Effect.fail(USAGE)
      if (!arg.startsWith("--")) return Effect.fail(`unexpected argument: ${arg}\n${USAGE}`)
      const eq = arg.indexOf("=")
      const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2)
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i]
      if (value === undefined) return Effect.fail(`missing value for ${arg}`)
      if (!OTHER_FLAGS.includes(name) && !FAULT_FLAGS.some(([flag]) => flag === name)) {
        return Effect.fail(`unknown flag --${name}\n${USAGE}`)
      }
      flags.set(name, value)
    }
    return Effect.succeed(flags)
  })

/** Parses argv flags over the options from the environment. */
const parseArgs = (
  argv: ReadonlyArray<string>,
  base: SimulatorConfig.ServerOptions
): Effect.Effect<SimulatorConfig.ServerOptions, string> =>
  Effect.gen(function*() {
    const flags = yield* readFlags(argv)
    const num = (name: string): Effect.Effect<number | undefined, string> => {
      const v = flags.get(name)
      if (v === undefined) return Effect.succeed(undefined)
      const n = Number(v)
      return Number.isFinite(n) ? Effect.succeed(n) : Effect.fail(`--${name} expects a number, got ${v}`)
    }
    let latency = base.latency
    const latencyFlag = flags.get("latency")
    if (latencyFlag !== undefined) {
      const parsed = SimulatorConfig.parseLatency(latencyFlag)
      if (Option.isNone(parsed)) return yield* Effect.fail(`bad --latency ${latencyFlag}\n${USAGE}`)
      latency = parsed.value
    }
    const profile = flags.get("faults")
    if (profile !== undefined && profile !== "realistic") return yield* Effect.fail(`--faults expects realistic, got ${profile}`)
    const baseFaults = base.faults === "realistic" ? SimulatorConfig.realistic : base.faults
    const faults: Record<string, number> = { ...(profile === "realistic" ? SimulatorConfig.realistic : {}), ...baseFaults }
    for (const [flag, key] of FAULT_FLAGS) {
      const value = yield* num(flag)
      if (value !== undefined) faults[key] = value
    }
    const or = <A>(a: A | undefined, b: A | undefined): A | undefined => a ?? b
    const options: Record<string, unknown> = {
      port: or(yield* num("port"), base.port),
      host: or(flags.get("host"), base.host),
      seed: or(yield* num("seed"), base.seed),
      latency,
      timeToFirstTokenMillis: or(yield* num("ttft"), base.timeToFirstTokenMillis),
      tokensPerSecond: or(yield* num("tps"), base.tokensPerSecond),
      faults,
      drift: or(yield* num("drift"), base.drift),
      limits: definedOnly({
        maxConcurrent: or(yield* num("max-concurrent"), base.limits?.maxConcurrent),
        requestsPerMinute: or(yield* num("rpm"), base.limits?.requestsPerMinute)
      }),
      apiKey: or(flags.get("api-key"), base.apiKey),
      model: or(flags.get("model"), base.model)
    }
    return definedOnly(options) as SimulatorConfig.ServerOptions
  })

const definedOnly = (o: Record<string, unknown>): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const k in o) if (o[k] !== undefined) out[k] = o[k]
  return out
}

const main = Effect.gen(function*() {
  const fromEnv = yield* SimulatorConfig.config
  const options = yield* parseArgs(process.argv.slice(2), fromEnv).pipe(
    Effect.catchAll((message) => Console.error(message).pipe(Effect.zipRight(Effect.sync(() => process.exit(2)))))
  )
  return yield* Layer.launch(
    Layer.effectDiscard(
      Effect.gen(function*() {
        const server = yield* SimulatorServer.SimulatorServer
        yield* Console.log(server.url)
      })
    ).pipe(Layer.provideMerge(SimulatorServer.layer({ port: 8787, ...options })))
  )
})

NodeRuntime.runMain(main)
