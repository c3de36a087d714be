/**
 * Runs the simulator server from the command line and prints its URL.
 *
 *   pnpm exec tsx packages/simulator/src/bin.ts --port 8787 [--latency lognormal:400,0.6]
 *
 * Flags (each also readable from the environment, see `SimulatorConfig.config`):
 * --port, --host, --seed, --latency (`200`, `fixed:200`, `uniform:50-300`, `lognormal:400,0.6`),
 * --ttft (ms), --tps (tokens per second), --rate-limit, --server-error, --reset, --truncate,
 * --malformed (fractions), --retry-after (seconds), --max-concurrent, --rpm, --api-key, --model,
 * --timing (command line only; `worker`, the default here: replies woken by a worker thread;
 * `poll`: by checking the clock each event-loop turn, see `SimulatorConfig.ServerOptions`).
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
              [--rate-limit F] [--server-error F] [--reset F] [--truncate F] [--malformed F] [--retry-after S]
              [--max-concurrent N] [--rpm N] [--api-key KEY] [--model NAME] [--timing worker|poll]`

/** Parses argv flags over the options from the environment. */
const parseArgs = (
  argv: ReadonlyArray<string>,
  base: SimulatorConfig.ServerOptions
): Effect.Effect<SimulatorConfig.ServerOptions, string> =>
  Effect.gen(function*() {
    const flags = new Map<string, string>()
    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i] as string
      if (arg === "--help" || arg === "-h") return yield* Effect.fail(USAGE)
      if (!arg.startsWith("--")) return yield* Effect.fail(`unexpected argument: ${arg}\n${USAGE}`)
      const eq = arg.indexOf("=")
      if (eq > 0) flags.set(arg.slice(2, eq), arg.slice(eq + 1))
      else {
        const value = argv[i + 1]
        if (value === undefined) return yield* Effect.fail(`missing value for ${arg}`)
        flags.set(arg.slice(2), value)
        i++
      }
    }
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
    const known = new Set([
      "port", "host", "seed", "latency", "ttft", "tps", "rate-limit", "server-error", "reset", "truncate",
      "malformed", "retry-after", "max-concurrent", "rpm", "api-key", "model", "timing"
    ])
    const timing = flags.get("timing") ?? "worker"
    if (timing !== "worker" && timing !== "poll") return yield* Effect.fail(`--timing expects worker or poll, got ${timing}\n${USAGE}`)
    for (const k of flags.keys()) if (!known.has(k)) return yield* Effect.fail(`unknown flag --${k}\n${USAGE}`)
    const or = <A>(a: A | undefined, b: A | undefined): A | undefined => a ?? b
    const faults = {
      rateLimit: or(yield* num("rate-limit"), base.faults?.rateLimit),
      serverError: or(yield* num("server-error"), base.faults?.serverError),
      reset: or(yield* num("reset"), base.faults?.reset),
      truncate: or(yield* num("truncate"), base.faults?.truncate),
      malformed: or(yield* num("malformed"), base.faults?.malformed),
      retryAfterSeconds: or(yield* num("retry-after"), base.faults?.retryAfterSeconds)
    }
    const limits = {
      maxConcurrent: or(yield* num("max-concurrent"), base.limits?.maxConcurrent),
      requestsPerMinute: or(yield* num("rpm"), base.limits?.requestsPerMinute)
    }
    const options: Record<string, unknown> = {
      port: or(yield* num("port"), base.port),
      host: or(flags.get("host"), base.host),
      seed: or(yield* num("seed"), base.seed),
      latency,
      timeToFirstTokenMillis: or(yield* num("ttft"), base.timeToFirstTokenMillis),
      tokensPerSecond: or(yield* num("tps"), base.tokensPerSecond),
      faults: definedOnly(faults),
      limits: definedOnly(limits),
      apiKey: or(flags.get("api-key"), base.apiKey),
      model: or(flags.get("model"), base.model),
      timing
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
