#!/usr/bin/env node
/**
 * Runs the simulator server from the command line and prints its URL.
 *
 *   pnpm exec tsx packages/simulator/src/bin.ts --port 8787 [--latency lognormal:400,0.6] [--faults realistic]
 *
 * Each flag sets an environment variable of `SimulatorConfig.config` (a flag wins over its
 * variable; the pairs are in `internal/variables.ts`): --port, --host, --seed, --latency (`200`, `fixed:200`,
 * `uniform:50-300`, `lognormal:400,0.6`), --latency-sampling, --ttft (ms), --tps (tokens per
 * second), --faults realistic, the fractions --rate-limit, --server-error, --reset, --truncate,
 * --malformed, --in-band-error, --think, --fenced-json, --content-arrays and --drift,
 * --retry-after (seconds), --max-concurrent, --rpm, --api-key, --model.
 *
 * @since 0.1.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as SimulatorConfig from "./SimulatorConfig.js"
import * as SimulatorServer from "./SimulatorServer.js"
import { numberOptions, textVariables } from "./internal/variables.js"

/** Each flag and the variable it sets. */
const FLAGS: Readonly<Record<string, string>> = {
  ...Object.fromEntries(numberOptions.map((o) => [o.flag, o.variable])),
  ...textVariables
}

const USAGE = `usage: bin.ts ${Object.keys(FLAGS).map((flag) => `[--${flag} …]`).join(" ")}`

/** The flags (`--name value` or `--name=value`) as the variables they set. */
const readFlags = (argv: ReadonlyArray<string>): Effect.Effect<Map<string, string>, string> =>
  Effect.suspend(() => {
    const variables = new Map<string, string>()
    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i]!
      if (arg === "--help" || arg === "-h") return Effect.fail(USAGE)
      if (!arg.startsWith("--")) return Effect.fail(`unexpected argument: ${arg}\n${USAGE}`)
      const eq = arg.indexOf("=")
      const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2)
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i]
      const variable = FLAGS[name]
      if (variable === undefined) return Effect.fail(`unknown flag --${name}\n${USAGE}`)
      if (value === undefined) return Effect.fail(`missing value for --${name}`)
      variables.set(variable, value)
    }
    return Effect.succeed(variables)
  })

const main = Effect.gen(function*() {
  const flags = yield* readFlags(process.argv.slice(2))
  const provider = ConfigProvider.fromMap(flags).pipe(ConfigProvider.orElse(() => ConfigProvider.fromEnv()))
  const options = yield* Effect.withConfigProvider(SimulatorConfig.config, provider).pipe(
    Effect.mapError((error) => `bad flag or SIM_* variable: ${error}`)
  )
  return yield* Layer.launch(
    Layer.effectDiscard(Effect.flatMap(SimulatorServer.SimulatorServer, (server) => Console.log(server.url))).pipe(
      Layer.provideMerge(SimulatorServer.layer({ port: 8787, ...options }))
    )
  )
}).pipe(Effect.catchAll((message) => Console.error(message).pipe(Effect.zipRight(Effect.sync(() => process.exit(2))))))

NodeRuntime.runMain(main)
