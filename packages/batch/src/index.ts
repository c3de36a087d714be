/**
 * `@effect-dspy/batch`: run modules over large inputs with bounded concurrency, rate limits,
 * de-duplication, metrics, and checkpoint/resume. The `effect-dspy` command that drives it
 * from a terminal lives in `@effect-dspy/cli`.
 *
 * @since 0.1.0
 */

/**
 * The batch runner: a stream of inputs in, a stream of outcomes out; `runFile` for files.
 *
 * @since 0.1.0
 */
export * as Batch from "./Batch.js"

/**
 * Run metrics, live statistics and the summary.
 *
 * @since 0.1.0
 */
export * as BatchMetrics from "./BatchMetrics.js"

/**
 * Result caches: in-run de-duplication keys and persistent stores.
 *
 * @since 0.1.0
 */
export * as Cache from "./Cache.js"

/**
 * The output file as a checkpoint: append one line per item, resume after a crash.
 *
 * @since 0.1.0
 */
export * as Checkpoint from "./Checkpoint.js"

/**
 * Batch inputs: tagged items from arrays, streams, JSONL and CSV files.
 *
 * @since 0.1.0
 */
export * as Input from "./Input.js"

/**
 * Per-item outcomes and their JSON lines.
 *
 * @since 0.1.0
 */
export * as Outcome from "./Outcome.js"

/**
 * Request rate control: RPM/TPM buckets and adaptive (AIMD) concurrency.
 *
 * @since 0.1.0
 */
export * as RateControl from "./RateControl.js"
