import * as LmConfig from "@effect-dspy/core/LmConfig"
import * as LanguageModel from "@effect/ai/LanguageModel"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Either, FastCheck, Layer, Logger, LogLevel, Redacted, TestServices } from "effect"
import * as Limiter from "../src/Limiter.js"
import * as Lm from "../src/Lm.js"
import * as ModelId from "../src/ModelId.js"
import { chatCompletion, json, makeFakeFetch } from "./utils/fakeFetch.js"

const env = (vars: Record<string, string>) => Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(vars))))

const captureLogs = () => {
  const lines: Array<string> = []
  const layer = Layer.merge(
    Logger.replace(Logger.defaultLogger, Logger.make(({ logLevel, message }) => {
      lines.push(`${logLevel.label} ${Array.isArray(message) ? message.join(" ") : String(message)}`)
    })),
    Logger.minimumLogLevel(LogLevel.Info)
  )
  return { lines, layer }
}

describe("ModelId", () => {
  it("parses provider and model, keeping slashes in the model name", () => {
    assert.deepStrictEqual(Either.getOrThrow(ModelId.parseEither("openai/gpt-4o-mini")), {
      provider: "openai",
      model: "gpt-4o-mini"
    })
    assert.deepStrictEqual(Either.getOrThrow(ModelId.parseEither("openai-compatible/meta-llama/Llama-3-8B")), {
      provider: "openai-compatible",
      model: "meta-llama/Llama-3-8B"
    })
  })

  it("rejects malformed ids and unknown providers with a message listing the valid prefixes", () => {
    for (const bad of ["gpt-4o", "mistral/large", "openai/", "/x", "openai/has space"]) {
      const result = ModelId.parseEither(bad)
      assert(Either.isLeft(result), bad)
      assert.strictEqual(result.left._tag, "InvalidModelId")
      assert.include(result.left.message, "openai, anthropic, openai-compatible, simulator")
    }
  })

  it.prop(
    "format and parse are inverse",
    {
      provider: FastCheck.constantFrom(...ModelId.providers),
      model: FastCheck.stringMatching(/^[A-Za-z0-9._:\-/]{1,30}$/)
    },
    ({ model, provider }) => {
      const id = { provider, model }
      assert.deepStrictEqual(Either.getOrThrow(ModelId.parseEither(ModelId.format(id))), id)
    }
  )
})

describe("Lm", () => {
  it.effect("an unknown provider is a typed error when the layer is built", () =>
    Effect.gen(function*() {
      const error = yield* LanguageModel.generateText({ prompt: "x" }).pipe(
        Effect.provide(Lm.layer("mistral/large")),
        Effect.flip
      )
      assert.strictEqual(error._tag, "InvalidModelId")
    }))

  it.effect("a missing key or base URL is a typed error for Lm.layer", () =>
    Effect.gen(function*() {
      for (const [id, variable] of [
        ["openai/gpt-4o-mini", "OPENAI_API_KEY"],
        ["anthropic/claude-3-5-haiku-latest", "ANTHROPIC_API_KEY"],
        ["openai-compatible/llama3", "OPENAI_COMPATIBLE_BASE_URL"]
      ] as const) {
        const error = yield* LanguageModel.generateText({ prompt: "x" }).pipe(
          Effect.provide(Lm.layer(id)),
          Effect.provide(env({})),
          Effect.flip
        )
        assert(error._tag === "MissingConfiguration")
        assert.strictEqual(error.variable, variable)
      }
    }))

  it.effect("layerFromEnv without keys falls back to the simulator and says so in one log line", () =>
    Effect.gen(function*() {
      const logs = captureLogs()
      const response = yield* LanguageModel.generateText({ prompt: "Say hello" }).pipe(
        Effect.provide(Lm.layerFromEnv),
        Effect.provide(Layer.merge(env({}), logs.layer))
      )
      assert.isString(response.text)
      assert.deepStrictEqual(logs.lines, ["INFO no OPENAI_API_KEY: using the offline simulator (sim-1)"])
    }))

  it.effect("layerFromEnv falls back when the requested provider has no key", () =>
    Effect.gen(function*() {
      const logs = captureLogs()
      const resolved = yield* Lm.resolveFromEnv.pipe(Effect.provide(env({ EFFECT_DSPY_MODEL: "anthropic/claude-x" })))
      assert.strictEqual(resolved.modelId, "simulator/sim-1")
      assert.include(resolved.fallback, "no ANTHROPIC_API_KEY")
      assert.strictEqual(logs.lines.length, 0)
    }))

  it.effect("layerFromEnv picks the provider from the environment", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(
        yield* Lm.resolveFromEnv.pipe(Effect.provide(env({ OPENAI_API_KEY: "k" }))),
        { modelId: "openai/gpt-4o-mini", fallback: undefined }
      )
      assert.deepStrictEqual(
        yield* Lm.resolveFromEnv.pipe(
          Effect.provide(env({ EFFECT_DSPY_MODEL: "openai-compatible/qwen", OPENAI_COMPATIBLE_BASE_URL: "http://h/v1" }))
        ),
        { modelId: "openai-compatible/qwen", fallback: undefined }
      )
      const bad = yield* Lm.resolveFromEnv.pipe(Effect.provide(env({ EFFECT_DSPY_MODEL: "nope" })), Effect.flip)
      assert.strictEqual(bad._tag, "InvalidModelId")
    }))

  it.effect("a Limiter in context bounds the requests in flight of a model layer", () =>
    Effect.gen(function*() {
      const limiter = yield* Limiter.make({ concurrency: 2 })
      yield* Effect.forEach(
        Array.from({ length: 8 }, (_, i) => i),
        (i) => LanguageModel.generateText({ prompt: `question ${i}` }),
        { concurrency: 8, discard: true }
      ).pipe(
        Effect.provide(Lm.layer("simulator/sim-1", { simulator: { latency: { _tag: "Fixed", millis: 100 } } })),
        Effect.provideService(Limiter.Limiter, limiter),
        TestServices.provideLive
      )
      const stats = yield* limiter.stats
      assert.strictEqual(stats.maxInFlight, 2)
      assert.strictEqual(stats.inFlight, 0)
    }))

  it.effect("core LmConfig settings reach every provider's wire fields", () =>
    Effect.gen(function*() {
      const cases = [
        { id: "openai/gpt-4o-mini", expected: { temperature: 0.3, max_output_tokens: 99, top_p: 0.9 } },
        { id: "anthropic/claude-3-5-haiku-latest", expected: { temperature: 0.3, max_tokens: 99, top_p: 0.9 } },
        { id: "openai-compatible/llama3", expected: { temperature: 0.3, max_tokens: 99, top_p: 0.9, seed: 5 } }
      ] as const
      for (const { expected, id } of cases) {
        // the server rejects the call: only the request matters here
        const fake = makeFakeFetch([json(400, { error: { message: "no" } })])
        yield* LanguageModel.generateText({ prompt: "x" }).pipe(
          LmConfig.withSettings({ temperature: 0.3, maxTokens: 99, topP: 0.9, seed: 5 }),
          Effect.provide(Lm.layerWithoutHttpClient(id, { apiKey: Redacted.make("k"), baseUrl: "http://127.0.0.1:9/v1" })),
          Effect.provide(fake.layer),
          Effect.flip
        )
        const body = fake.requests[0]!.body as Record<string, unknown>
        for (const [key, value] of Object.entries(expected)) assert.strictEqual(body[key], value, `${id} ${key}`)
        if (id !== "openai-compatible/llama3") assert.isUndefined(body.seed)
      }
    }))

  it.effect("layerFromEnv builds an openai-compatible model from Config", () =>
    Effect.gen(function*() {
      const fake = makeFakeFetch([json(200, chatCompletion({ content: "from env" }))])
      const response = yield* LanguageModel.generateText({ prompt: "x" }).pipe(
        Effect.provide(Lm.layerFromEnvWithoutHttpClient()),
        Effect.provide(Layer.merge(
          fake.layer,
          env({
            EFFECT_DSPY_MODEL: "openai-compatible/qwen2.5:7b",
            OPENAI_COMPATIBLE_BASE_URL: "http://127.0.0.1:9/v1",
            OPENAI_COMPATIBLE_API_KEY: "compat-key"
          })
        ))
      )
      assert.strictEqual(response.text, "from env")
      assert.strictEqual(fake.requests[0]!.url, "http://127.0.0.1:9/v1/chat/completions")
      assert.strictEqual(fake.requests[0]!.headers.authorization, "Bearer compat-key")
      assert.strictEqual((fake.requests[0]!.body as { model: string }).model, "qwen2.5:7b")
    }))
})
