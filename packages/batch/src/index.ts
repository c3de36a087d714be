/**
 * @effect-dspy/batch: run modules over large inputs with bounded concurrency, rate limits,
 * de-duplication, metrics, and checkpoint/resume; and the `effect-dspy` command.
 *
 * The command's modules load the CLI and the simulator server, so they are not re-exported
 * here: import `@effect-dspy/batch/Cli` and `@effect-dspy/batch/Examples` directly.
 *
 * @since 0.1.0
 */

/** The batch runner: a stream of inputs in, a stream of outcomes out; `runFile` for files. */
export * as Batch from "./Batch.js"

/** Run metrics, live statistics and the summary. */
export * as BatchMetrics from "./BatchMetrics.js"

/** Result caches: in-run de-duplication keys and persistent stores. */
export * as Cache from "./Cache.js"

/** The output file as a checkpoint: append one line per item, resume after a crash. */
export * as Checkpoint from "./Checkpoint.js"

/** Batch inputs: tagged items from arrays, streams, JSONL and CSV files. */
export * as Input from "./Input.js"

/** Per-item outcomes and their JSON lines. */
export * as Outcome from "./Outcome.js"

/** Programs the command runs: built-ins and module files. */
export * as Programs from "./Programs.js"

/** The terminal progress line. */
export * as Progress from "./Progress.js"

/** Request rate control: RPM/TPM buckets and adaptive (AIMD) concurrency. */
export * as RateControl from "./RateControl.js"
