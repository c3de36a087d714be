/**
 * @since 0.1.0
 */
export * as BootstrapFewShot from "./BootstrapFewShot"
export * as Evaluate from "./Evaluate"
export * as Example from "./Example"
export * as LabeledFewShot from "./LabeledFewShot"
export * as Metric from "./Metric"
export * as Mipro from "./Mipro"
export * as RandomSearch from "./RandomSearch"
