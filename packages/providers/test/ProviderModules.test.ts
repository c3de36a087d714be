import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer, Redacted } from "effect"
import { vi } from "vitest"
import * as Lm from "../src/Lm.js"

// The provider packages are loaded when a layer for them is built, so a broken installation
// (or a bundler that dropped them) must surface there, naming the package and the model.
vi.doMock("@effect/ai-anthropic/AnthropicClient", () => {
  throw new Error("Cannot find module '@effect/ai-anthropic/AnthropicClient'")
})

describe("provider modules", () => {
  it.effect("a provider package that cannot be loaded is a defect naming the package and the model", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.scoped(
        Layer.build(Lm.layer("anthropic/claude-3-5-haiku-latest", { apiKey: Redacted.make("k") }))
      ).pipe(Effect.exit)
      assert(Exit.isFailure(exit))
      const defect = Cause.squash(exit.cause)
      assert(defect instanceof Error)
      assert.include(defect.message, "could not be loaded")
      assert.include(defect.message, "@effect/ai-anthropic")
      assert.include(defect.message, "anthropic/claude-3-5-haiku-latest")
      assert.propertyVal(defect, "_tag", "ProviderModuleUnavailable")
      assert.isTrue(Cause.isDie(exit.cause))
    }))

  it.effect("the other providers still build", () =>
    Effect.scoped(Layer.build(Lm.layer("openai/gpt-4o-mini", { apiKey: Redacted.make("k") }))))
})
