#!/usr/bin/env node
/**
 * The `effect-dspy` command line (the package's `bin`):
 *
 *   effect-dspy batch --input items.jsonl --output results.jsonl
 *   effect-dspy example simple
 *
 * Installed from npm it runs the build (`dist/bin.js`) on plain Node; in this repository
 * `pnpm exec effect-dspy ...` runs these sources through `dev/effect-dspy.mjs`. Either way the
 * command runs in the process that was started, so signals reach it.
 *
 * @since 0.1.0
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Cli from "./Cli.js"

// EFFECT_DSPY_LOG_LEVEL, else: a runner is a service (its log is its output), the other commands
// print results and keep their log for warnings.
const logLevel = Option.getOrElse(
  Option.flatMap(Option.fromNullable(process.env["EFFECT_DSPY_LOG_LEVEL"]), (name) =>
    Option.fromNullable(LogLevel.allLevels.find((level) => level.label.toLowerCase() === name.toLowerCase()))),
  () => process.argv[2] === "runner" ? LogLevel.Info : LogLevel.Warning
)

const main = Effect.suspend(() => Cli.run(process.argv)).pipe(
  Effect.catchAllDefect((defect) =>
    Effect.as(Console.error(`effect-dspy: unexpected error: ${Cause.pretty(Cause.die(defect))}`), 1)
  ),
  // logs go to stderr, so that stdout carries only results (and `--json` one object)
  Effect.provide(Logger.replace(Logger.defaultLogger, Logger.withConsoleError(Logger.logfmtLogger))),
  Logger.withMinimumLogLevel(logLevel),
  Effect.provide(NodeContext.layer)
)

// The runtime interrupts the command on SIGINT and SIGTERM alike; the exit code says which it was,
// as shells expect (128 + the signal's number: 130 for Ctrl-C, 143 for `kill`). A second signal
// finds no listener left and ends the process at once.
let signal: "SIGINT" | "SIGTERM" | undefined
process.once("SIGINT", () => void (signal ??= "SIGINT"))
process.once("SIGTERM", () => void (signal ??= "SIGTERM"))

NodeRuntime.runMain(main, {
  disableErrorReporting: true,
  teardown: (exit, onExit) => {
    if (Exit.isSuccess(exit)) onExit(typeof exit.value === "number" ? exit.value : 0)
    else if (Cause.isInterruptedOnly(exit.cause)) onExit(signal === "SIGTERM" ? 143 : 130)
    else onExit(1)
  }
})
