/**
 * The simulator as the `simulator/` provider: registered by a layer (the providers package never
 * imports it), and `layerFromEnvOrSimulator`, which falls back to it only when nothing is
 * configured, saying so in one log line.
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import { Lm } from "@effect-dspy/providers"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Logger } from "effect"
import * as SimulatorProvider from "../src/SimulatorProvider.js"

const env = (vars: Record<string, string>) => Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(vars))))

const logged = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const lines: Array<string> = []
    const logger = Logger.make(({ message }) => lines.push(String(Array.isArray(message) ? message.join(" ") : message)))
    const result = yield* effect.pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
    return { result, lines }
  })

describe("SimulatorProvider", () => {
  it.effect("simulator/ ids need the provider registered", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.scoped(Layer.build(Lm.layer("simulator/sim-1"))))
      assert.include(error.message, "unknown provider \"simulator\"")
      const response = yield* LanguageModel.generateText({ prompt: "Say hi" }).pipe(
        Effect.provide(Lm.layer("simulator/sim-1").pipe(Layer.provide(SimulatorProvider.layer({ seed: 3 }))))
      )
      assert.isAbove(response.text.length, 0)
    }))

  it.effect("layerFromEnvOrSimulator: nothing configured, the simulator, said in one line", () =>
    Effect.gen(function*() {
      const { lines, result } = yield* logged(
        LanguageModel.generateText({ prompt: "Say hi" }).pipe(Effect.provide(SimulatorProvider.layerFromEnvOrSimulator()))
      ).pipe(env({}))
      assert.isAbove(result.text.length, 0)
      assert.deepStrictEqual(lines, [SimulatorProvider.notice])
    }))

  it.effect("layerFromEnvOrSimulator: EFFECT_DSPY_MODEL=simulator/sim-1 is asked for, so no notice", () =>
    Effect.gen(function*() {
      const { lines } = yield* logged(
        LanguageModel.generateText({ prompt: "Say hi" }).pipe(Effect.provide(SimulatorProvider.layerFromEnvOrSimulator()))
      ).pipe(env({ EFFECT_DSPY_MODEL: "simulator/sim-1" }))
      assert.deepStrictEqual(lines, [])
    }))

  it.effect("layerFromEnvOrSimulator: a model named without its key fails, never a silent stand-in", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.scoped(Layer.build(SimulatorProvider.layerFromEnvOrSimulator()))).pipe(
        env({ EFFECT_DSPY_MODEL: "openai/gpt-4o-mini" })
      )
      assert.strictEqual(error._tag, "MissingConfiguration")
      assert.include(error.message, "OPENAI_API_KEY")
    }))
})
