/**
 * The in-process simulated model: an `@effect/ai` `LanguageModel` that answers from the
 * simulator's engine, with its latency and faults, all timed through Effect's `Clock` (so
 * `TestClock` drives it).
 *
 * @example
 * ```ts
 * import { LanguageModel } from "@effect/ai"
 * import { Simulator } from "@effect-dspy/simulator"
 * import { Effect } from "effect"
 *
 * const program = LanguageModel.generateText({ prompt: "Say hi" }).pipe(
 *   Effect.provide(Simulator.layer({ seed: 1 }))
 * )
 * ```
 *
 * @since 0.1.0
 */
import { LmConfig } from "@effect-dspy/core/LmConfig"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as SimulatorConfig from "./SimulatorConfig.js"
import { type Counters, Engine } from "./internal/engine/Engine.js"
import * as Model from "./internal/inProcess/model.js"

export type {
  /**
   * What a simulator instance has counted: requests, requests in flight, faults injected, answers completed.
   *
   * @since 0.1.0
   */
  Counters
} from "./internal/engine/Engine.js"

/**
 * Options of the in-process simulator (same as `SimulatorConfig.SimulatorOptions`).
 *
 * @since 0.1.0
 */
export type Options = SimulatorConfig.SimulatorOptions

/**
 * Per-call settings of the simulated model, like `OpenAiLanguageModel.Config`: the same
 * `seed` and `temperature` give the same reply; a `temperature` above 0 without a `seed` gives
 * another reply on each call (drawn from the instance's seeded sequence); `maxOutputTokens`
 * cuts longer replies with finish reason `length`. Core's `LmConfig` settings (`temperature`,
 * `seed`, `maxTokens`), when set, take precedence.
 *
 * @example
 * ```ts
 * import { LanguageModel } from "@effect/ai"
 * import { Simulator } from "@effect-dspy/simulator"
 * import { Effect } from "effect"
 *
 * const varied = LanguageModel.generateText({ prompt: "Say hi" }).pipe(
 *   Simulator.withConfigOverride({ temperature: 1 })
 * )
 * ```
 *
 * @since 0.2.0
 */
export class Config extends Context.Tag("@effect-dspy/simulator/Simulator/Config")<Config, Config.Service>() {}

/**
 * The types of the simulated model's per-call settings.
 *
 * @since 0.2.0
 */
export declare namespace Config {
  /**
   * The settings.
   *
   * @since 0.2.0
   */
  export interface Service {
    readonly temperature?: number | undefined
    readonly seed?: number | undefined
    readonly maxOutputTokens?: number | undefined
  }
}

/**
 * Runs an effect with these settings merged over the current `Config`.
 *
 * @since 0.2.0
 */
export const withConfigOverride = (overrides: Config.Service) => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(
    Effect.serviceOption(Config),
    (current) => Effect.provideService(self, Config, { ...Option.getOrUndefined(current), ...overrides })
  )

/** The settings of the current call: core's `LmConfig` over the simulator's `Config`. */
const settings: Effect.Effect<Config.Service> = Effect.zipWith(
  Effect.serviceOption(Config),
  LmConfig,
  (config, lm): Config.Service => {
    const own = Option.getOrUndefined(config)
    return {
      temperature: lm.temperature ?? own?.temperature,
      seed: lm.seed ?? own?.seed,
      maxOutputTokens: lm.maxTokens ?? own?.maxOutputTokens
    }
  }
)

/**
 * An in-process simulator: its `LanguageModel` and its counters.
 *
 * @since 0.1.0
 */
export interface Instance {
  readonly languageModel: LanguageModel.Service
  readonly counters: Effect.Effect<Counters>
  readonly reset: Effect.Effect<void>
}

/**
 * Makes an in-process simulator with its counters. Options out of their range are a defect, a
 * `SimulatorConfig.SimulatorConfigError` naming the option (see `SimulatorConfig.resolve`).
 *
 * @since 0.1.0
 */
export const makeInstance = (options?: SimulatorConfig.SimulatorOptions): Effect.Effect<Instance> =>
  Effect.gen(function*() {
    const engine = new Engine(yield* Effect.orDie(SimulatorConfig.resolve(options)))
    const languageModel = yield* Model.make(engine, settings)
    return {
      languageModel,
      counters: Effect.sync(() => engine.counters()),
      reset: Effect.sync(() => engine.reset())
    }
  })

/**
 * Makes the simulated `LanguageModel` service.
 *
 * @since 0.1.0
 */
export const make = (options?: SimulatorConfig.SimulatorOptions): Effect.Effect<LanguageModel.Service> =>
  Effect.map(makeInstance(options), (instance) => instance.languageModel)

/**
 * A layer providing the simulated `LanguageModel`.
 *
 * @since 0.1.0
 */
export const layer = (options?: SimulatorConfig.SimulatorOptions): Layer.Layer<LanguageModel.LanguageModel> =>
  Layer.effect(LanguageModel.LanguageModel, make(options))
