/**
 * `@effect-dspy/optimize`: evaluation over a dev set, metrics, and the optimizers that learn
 * demos and instructions (`LabeledFewShot`, `BootstrapFewShot`, `RandomSearch`, `Mipro`).
 *
 * @since 0.1.0
 */

/**
 * `BootstrapFewShot`: demos from a teacher's traces that pass the metric.
 *
 * @since 0.1.0
 */
export * as BootstrapFewShot from "./BootstrapFewShot.js"

/**
 * Where an optimizer keeps its progress, so that a run stopped by a crash or an interruption
 * resumes where it was instead of paying again for the LM calls it had made.
 *
 * @since 0.2.0
 */
export * as Checkpoint from "./Checkpoint.js"

/**
 * `Evaluate`: runs a program over a dev set with a metric and reports the scores.
 *
 * @since 0.1.0
 */
export * as Evaluate from "./Evaluate.js"

/**
 * Labelled examples: a program's inputs and the outputs expected of it.
 *
 * @since 0.1.0
 */
export * as Example from "./Example.js"

/**
 * `Gepa`: GEPA, reflective prompt evolution (Agrawal et al., 2025).
 *
 * @since 0.2.0
 */
export * as Gepa from "./Gepa.js"

/**
 * `LabeledFewShot`: k labelled examples from the train set as demos.
 *
 * @since 0.1.0
 */
export * as LabeledFewShot from "./LabeledFewShot.js"

/**
 * Metrics that score a prediction against an example (numbers, booleans, LM judges).
 *
 * @since 0.1.0
 */
export * as Metric from "./Metric.js"

/**
 * `Mipro`: instruction and demo search in the spirit of DSPy's MIPROv2.
 *
 * @since 0.1.0
 */
export * as Mipro from "./Mipro.js"

/**
 * The typed errors of `@effect-dspy/optimize`.
 *
 * @since 0.2.0
 */
export * as OptimizeError from "./OptimizeError.js"

/**
 * Random search over bootstrapped candidate programs, scored on a dev set.
 *
 * @since 0.1.0
 */
export * as RandomSearch from "./RandomSearch.js"

/**
 * What every optimizer reports besides the program: its trials and their scores, and what the run
 * spent (LM calls and tokens of every model it used, metric calls).
 *
 * @since 0.2.0
 */
export * as Report from "./Report.js"
