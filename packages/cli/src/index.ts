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
 * Programs the `batch` command runs: built-ins by name and module files.
 *
 * @since 0.2.0
 */
export * as Programs from "./Programs.js"

/**
 * The one-line terminal progress bar of a batch run.
 *
 * @since 0.2.0
 */
export * as Progress from "./Progress.js"
