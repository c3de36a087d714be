/**
 * @since 0.1.0
 */
export * as BootstrapFewShot from "./BootstrapFewShot.js"
export * as Checkpoint from "./Checkpoint.js"
export * as Evaluate from "./Evaluate.js"
export * as Example from "./Example.js"
export * as Gepa from "./Gepa.js"
export * as LabeledFewShot from "./LabeledFewShot.js"
export * as Metric from "./Metric.js"
export * as Mipro from "./Mipro.js"
export * as OptimizeError from "./OptimizeError.js"
export * as RandomSearch from "./RandomSearch.js"
export * as Report from "./Report.js"
