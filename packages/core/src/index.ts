/**
 * `@effect-dspy/core`: typed signatures, adapters that turn them into prompts and parse the
 * replies, and the modules (`Predict`, `ChainOfThought`, `ReAct`, `BestOfN`, `Refine`) that call
 * a language model, each an Effect program.
 *
 * @since 0.1.0
 */

/**
 * Aggregating several completions into one: `majority`, DSPy's vote, and its normalization.
 *
 * @since 0.2.0
 */
export * as Aggregation from "./Aggregation.js"

/**
 * Adapters: turn a signature, demos and inputs into a prompt, and read the reply back into typed outputs.
 *
 * @since 0.1.0
 */
export * as Adapter from "./Adapter.js"

/**
 * `BestOfN`: runs a module up to N times and keeps the first output whose reward reaches the threshold.
 *
 * @since 0.1.0
 */
export * as BestOfN from "./BestOfN.js"

/**
 * `ChainOfThought`: a `Predict` whose signature gains a `reasoning` output before the others.
 *
 * @since 0.1.0
 */
export * as ChainOfThought from "./ChainOfThought.js"

/**
 * The field-marker chat adapter (DSPy's `[[ ## field ## ]]` format), the default.
 *
 * @since 0.1.0
 */
export * as ChatAdapter from "./ChatAdapter.js"

/**
 * `CodeSandbox`: runs model-written programs in QuickJS (WebAssembly) on a worker thread, bounded in time and memory.
 *
 * @since 0.2.0
 */
export * as CodeSandbox from "./CodeSandbox.js"

/**
 * Multi-turn conversations that keep their own history and stream each reply.
 *
 * @since 0.1.0
 */
export * as Conversation from "./Conversation.js"

/**
 * Few-shot demonstrations shown to the model before the real inputs.
 *
 * @since 0.1.0
 */
export * as Demo from "./Demo.js"

/**
 * The typed errors of `@effect-dspy/core`.
 *
 * @since 0.1.0
 */
export * as DspyError from "./DspyError.js"

/**
 * The events modules publish on the `EventBus` (`lm.end`, `module.start`, ...).
 *
 * @since 0.1.0
 */
export * as DspyEvent from "./DspyEvent.js"

/**
 * A typed event bus with wildcard subscriptions (`lm.*`, `module.*`, `*`).
 *
 * @since 0.1.0
 */
export * as EventBus from "./EventBus.js"

/**
 * The span protocol between packages: span kinds, names and attribute keys, what makes a span a
 * generation, and the content sink telemetry installs.
 *
 * @since 0.2.0
 */
export * as GenAiSpan from "./GenAiSpan.js"

/**
 * `History`: the last LM calls (prompt, reply, usage, module), kept by a Layer; `History.inspect` prints them as DSPy does.
 *
 * @since 0.2.0
 */
export * as History from "./History.js"

/**
 * The JSON adapter: JSON-schema structured output derived from the output Schema.
 *
 * @since 0.1.0
 */
export * as JsonAdapter from "./JsonAdapter.js"

/**
 * `KNN`: few-shot demos chosen per call by similarity, through your embedding function.
 *
 * @since 0.2.0
 */
export * as KNN from "./KNN.js"

/**
 * `LmCache`: LM calls cached by a stable key of the request, in memory and in a directory.
 *
 * @since 0.2.0
 */
export * as LmCache from "./LmCache.js"

/**
 * Per-call model settings (temperature, max tokens, ...) carried in the Effect context.
 *
 * @since 0.1.0
 */
export * as LmConfig from "./LmConfig.js"

/**
 * Modules: functions from typed inputs to an `Effect` of a `Prediction`, with learnable state.
 *
 * @since 0.1.0
 */
export * as Module from "./Module.js"

/**
 * `MultiChainComparison`: the model compares M reasoning attempts and writes the final outputs.
 *
 * @since 0.2.0
 */
export * as MultiChainComparison from "./MultiChainComparison.js"

/**
 * A near-miss: a reply the adapter read although the model did not write it exactly as asked
 * (`Billing` for the literal `"billing"`, `0.9 points` for a number, a Python-style list, a whole
 * reply in JSON under the chat format).
 *
 * @since 0.2.0
 */
export * as NearMiss from "./NearMiss.js"

/**
 * `Predict`: the basic module, one model call per prediction.
 *
 * @since 0.1.0
 */
export * as Predict from "./Predict.js"

/**
 * What a module call returns: the typed output, usage and trace.
 *
 * @since 0.1.0
 */
export * as Prediction from "./Prediction.js"

/**
 * Saving and loading a program's learned instructions and demos as JSON.
 *
 * @since 0.1.0
 */
export * as ProgramState from "./ProgramState.js"

/**
 * `ProgramOfThought`: the model writes a program, the sandbox runs it, the model reads the outputs off its result.
 *
 * @since 0.2.0
 */
export * as ProgramOfThought from "./ProgramOfThought.js"

/**
 * `ReAct`: an agent that interleaves thoughts and tool calls, then extracts the outputs.
 *
 * @since 0.1.0
 */
export * as ReAct from "./ReAct.js"

/**
 * The one place that decides what a secret looks like and how it is hidden.
 *
 * @since 0.1.0
 */
export * as Redaction from "./Redaction.js"

/**
 * `Refine`: like `BestOfN`, with the model's advice on how to do better between attempts.
 *
 * @since 0.1.0
 */
export * as Refine from "./Refine.js"

/**
 * Signatures: named, Schema-typed input and output fields plus instructions.
 *
 * @since 0.1.0
 */
export * as Signature from "./Signature.js"

/**
 * Streaming any module: token deltas, per-field deltas, then the final prediction.
 *
 * @since 0.1.0
 */
export * as StreamPredict from "./StreamPredict.js"

/**
 * Tools for `ReAct`: a name, a description, Schema-typed parameters and an Effect handler.
 *
 * @since 0.1.0
 */
export * as Tool from "./Tool.js"

/**
 * Token usage and LM call counts, per prediction and summed over a run.
 *
 * @since 0.1.0
 */
export * as Usage from "./Usage.js"
