/**
 * `@effect-dspy/cli`: the `effect-dspy` command (batch runs over JSONL/CSV files, the offline
 * example modes) and the pieces it is made of, for programs that embed or extend it.
 *
 * The example modes start the simulator's HTTP server, so they are not re-exported here:
 * import `@effect-dspy/cli/ExampleModes` directly.
 *
 * @since 0.2.0
 */

/**
 * The `effect-dspy` command (`@effect/cli`) and `run`, which runs it on an argv.
 *
 * @since 0.2.0
 */
export * as Cli from "./Cli.js"

/**
 * The cluster's commands (`runner`, `status`, `export`, `cleanup`, `postgres`, and `batch --cluster`).
 *
 * @since 0.2.0
 */
export * as ClusterCommands from "./ClusterCommands.js"

/**
 * The one-line terminal progress bar of a batch run.
 *
 * @since 0.2.0
 */
export * as Progress from "./Progress.js"
