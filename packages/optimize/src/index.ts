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
 * Random search over bootstrapped candidate programs, scored on a dev set.
 *
 * @since 0.1.0
 */
export * as RandomSearch from "./RandomSearch.js"
