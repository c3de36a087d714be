#!/usr/bin/env -S node --import tsx
/**
 * The `effect-dspy` command line:
 *
 *   pnpm exec tsx packages/batch/src/bin.ts batch --input items.jsonl --output results.jsonl
 *   pnpm exec tsx packages/batch/src/bin.ts example simple
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
import * as Cli from "./Cli.js"

const main = Effect.suspend(() => Cli.run(process.argv)).pipe(
  Effect.catchAllDefect((defect) =>
    Effect.as(Console.error(`effect-dspy: unexpected error: ${Cause.pretty(Cause.die(defect))}`), 1)
  ),
  // logs go to stderr, so that stdout carries only results (and `--json` one object)
  Effect.provide(Logger.replace(Logger.defaultLogger, Logger.withConsoleError(Logger.logfmtLogger))),
  Logger.withMinimumLogLevel(LogLevel.Warning),
  Effect.provide(NodeContext.layer)
)

NodeRuntime.runMain(main, {
  disableErrorReporting: true,
  teardown: (exit, onExit) => {
    if (Exit.isSuccess(exit)) onExit(typeof exit.value === "number" ? exit.value : 0)
    // interrupted by Ctrl-C (SIGINT) or SIGTERM
    else onExit(Cause.isInterruptedOnly(exit.cause) ? 130 : 1)
  }
})
