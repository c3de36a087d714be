/**
 * `@effect-dspy/simulator`: an offline LLM. An in-process `LanguageModel` and a
 * loopback HTTP server speaking the OpenAI chat completions, OpenAI Responses
 * and Anthropic Messages wire formats, with latency, faults and limits.
 *
 * @since 0.1.0
 */

/**
 * Scripted answers: plain functions from a parsed request to an answer.
 *
 * @since 0.1.0
 */
export * as Script from "./Script.js"

/**
 * The in-process simulated `LanguageModel`.
 *
 * @since 0.1.0
 */
export * as Simulator from "./Simulator.js"

/**
 * The simulator as the `simulator/` provider of `@effect-dspy/providers`, and
 * `layerFromEnvOrSimulator`.
 *
 * @since 0.2.0
 */
export * as SimulatorProvider from "./SimulatorProvider.js"

/**
 * Options of the simulator and their defaults.
 *
 * @since 0.1.0
 */
export * as SimulatorConfig from "./SimulatorConfig.js"

/**
 * The loopback HTTP server (OpenAI and Anthropic wire formats).
 *
 * @since 0.1.0
 */
export * as SimulatorServer from "./SimulatorServer.js"
