#!/usr/bin/env -S node --import tsx
/**
 * The cluster's commands as a program of their own (`effect-dspy-cluster`), for running
 * runners and coordinators before they are mounted in `effect-dspy`, and for the tests and
 * the benchmark (a process per runner needs an entry point):
 *
 *   pnpm exec tsx packages/cluster/src/bin.ts runner --cluster postgres://… --listen 127.0.0.1:34431 --program qa
 *   pnpm exec tsx packages/cluster/src/bin.ts batch --cluster postgres://… --batch-id b1 -i items.jsonl -o results.jsonl
 *   pnpm exec tsx packages/cluster/src/bin.ts postgres --dir ./pgdata --port 5432
 *
 * Exit codes: 0 done, 1 failed, 2 bad usage or setup, 130 interrupted (Ctrl-C, SIGTERM).
 *
 * @since 0.2.0
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as ClusterCommands from "./ClusterCommands.js"
import * as LocalPostgres from "./LocalPostgres.js"

/** A local PostgreSQL for trying the cluster out (throwaway settings: fsync off). */
const postgres = Command.make(
  "postgres",
  {
    dir: Options.directory("dir").pipe(Options.withDescription("Folder of the server's data (created; kept)")),
    port: Options.integer("port").pipe(Options.withDefault(5432), Options.withDescription("Port on 127.0.0.1"))
  },
  (args) =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* LocalPostgres.make({ directory: args.dir, port: args.port })
      yield* Console.log(`PostgreSQL at ${server.url} (data in ${server.dataDirectory}); Ctrl-C stops it`)
      return yield* Effect.never
    })).pipe(Effect.mapError((error) => new ClusterCommands.CommandFailure({ reason: error.message, code: 2 })))
).pipe(Command.withDescription("Run a local PostgreSQL server for trying a cluster out (not for data you keep)"))

const command = Command.make("effect-dspy-cluster").pipe(
  Command.withDescription("effect-dspy distributed batches: runners, coordinator, operations"),
  Command.withSubcommands([...ClusterCommands.commands, postgres])
)

const logLevel = Option.getOrElse(
  Option.flatMap(Option.fromNullable(process.env["EFFECT_DSPY_LOG_LEVEL"]), (name) =>
    Option.fromNullable(LogLevel.allLevels.find((level) => level.label.toLowerCase() === name.toLowerCase()))),
  // a runner is a service: its log is its output; a coordinator's is its progress and summary
  () => process.argv[2] === "runner" ? LogLevel.Info : LogLevel.Warning
)

const main = Effect.suspend(() => Command.run(command, { name: "effect-dspy-cluster", version: "0.2.0" })(process.argv)).pipe(
  Effect.as(0),
  Effect.catchAll((error) => {
    // @effect/cli has already printed a usage problem
    if (ValidationError.isValidationError(error)) return Effect.succeed(2)
    return Effect.as(Console.error(`effect-dspy: ${error.reason}`), error.code)
  }),
  Effect.catchAllDefect((defect) => Effect.as(Console.error(`effect-dspy: unexpected error: ${Cause.pretty(Cause.die(defect))}`), 1)),
  // logs go to stderr, so that stdout carries only results (and `--json` one object)
  Effect.provide(Logger.replace(Logger.defaultLogger, Logger.withConsoleError(Logger.logfmtLogger))),
  Logger.withMinimumLogLevel(logLevel),
  Effect.provide(NodeContext.layer)
)

NodeRuntime.runMain(main, {
  disableErrorReporting: true,
  disablePrettyLogger: true,
  teardown: (exit, onExit) => {
    const code = Exit.isSuccess(exit) ? (typeof exit.value === "number" ? exit.value : 0) : Cause.isInterruptedOnly(exit.cause) ? 130 : 1
    onExit(code)
    // A finished command exits even if a library left a handle open: after a database restart,
    // @effect/cluster's client (0.60) sometimes keeps a connection alive past its layer's release.
    setTimeout(() => process.exit(code), 2000).unref()
  }
})
