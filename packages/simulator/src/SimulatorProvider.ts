/**
 * The simulator as the `simulator/` provider of `@effect-dspy/providers`: a layer that registers
 * it, and `layerFromEnvOrSimulator`, the one-line way for examples and tools to use the
 * environment's model when one is configured and the offline simulator otherwise.
 *
 * @example
 * ```ts
 * import { SimulatorProvider } from "@effect-dspy/simulator"
 * import { LanguageModel } from "@effect/ai"
 * import { Effect } from "effect"
 * const program = LanguageModel.generateText({ prompt: "Say hi" })
 *
 * // The model the environment names, or (saying so in one line) the offline simulator.
 * program.pipe(Effect.provide(SimulatorProvider.layerFromEnvOrSimulator()))
 * ```
 *
 * @since 0.2.0
 */
import { Lm, ProviderRegistry } from "@effect-dspy/providers"
import type * as LanguageModel from "@effect/ai/LanguageModel"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Simulator from "./Simulator.js"

/**
 * The model id `layerFromEnvOrSimulator` falls back to.
 *
 * @since 0.2.0
 */
export const fallbackModelId = "simulator/sim-1"

/**
 * The line `layerFromEnvOrSimulator` says when it falls back.
 *
 * @since 0.2.0
 */
export const notice =
  "no model configured (EFFECT_DSPY_MODEL, OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY): using the offline simulator (simulator/sim-1)"

/**
 * The `simulator/<model>` provider: the in-process simulator with these options (the model id's
 * model names its replies).
 *
 * @since 0.2.0
 */
export const provider = (options: Simulator.Options = {}): ProviderRegistry.Provider => ({
  name: "simulator",
  env: { variables: [] },
  make: (model) => Effect.succeed({ layer: Simulator.layer({ ...options, model }), secrets: [] })
})

/**
 * A layer registering the simulator provider, so that `Lm.layer("simulator/sim-1")` and
 * `EFFECT_DSPY_MODEL=simulator/sim-1` work.
 *
 * @example
 * ```ts
 * import { Lm } from "@effect-dspy/providers"
 * import { SimulatorProvider } from "@effect-dspy/simulator"
 * import { Layer } from "effect"
 *
 * const Model = Lm.layer("simulator/sim-1").pipe(Layer.provide(SimulatorProvider.layer({ seed: 7 })))
 * ```
 *
 * @since 0.2.0
 */
export const layer = (options: Simulator.Options = {}): Layer.Layer<ProviderRegistry.ProviderRegistry> =>
  ProviderRegistry.register(provider(options))

/**
 * Options of `layerFromEnvOrSimulator`: those of `Lm.layerFromEnv`, and the simulator's.
 *
 * @since 0.2.0
 */
export interface Options extends Lm.Options {
  readonly simulator?: Simulator.Options | undefined
}

/**
 * The model the environment names (`Lm.layerFromEnv`, with `simulator/…` ids available), or,
 * when none is configured, the offline simulator, said in one log line (`notice`). A model
 * that is named but lacks its key still fails with `MissingConfiguration`.
 *
 * @since 0.2.0
 */
export const layerFromEnvOrSimulator = (options: Options = {}): Layer.Layer<LanguageModel.LanguageModel, Lm.SetupError> =>
  Layer.unwrapEffect(Effect.map(Lm.resolveFromEnv, (modelId) =>
    Option.isSome(modelId)
      ? Lm.layerFromEnv(options)
      : Layer.effectDiscard(Effect.logInfo(notice)).pipe(Layer.provideMerge(Lm.layer(fallbackModelId, options)))
  )).pipe(Layer.provide(layer(options.simulator)))
