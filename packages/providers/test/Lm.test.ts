/**
 * Model ids through the provider registry, `layerFromEnv`, and what a layer tells core.
 */
import { LmCache, LmConfig } from "@effect-dspy/core"
import * as NodeFileSystem from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import * as LanguageModel from "@effect/ai/LanguageModel"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Context, Effect, Layer, Option, Tracer } from "effect"
import * as Lm from "../src/Lm.js"
import * as ProviderRegistry from "../src/ProviderRegistry.js"
import { completion } from "./fixtures/chatCompletions.js"
import { generate, valueOf } from "./utils/calls.js"
import * as Fake from "./utils/fakeModel.js"
import { serve } from "./utils/replay.js"

const env = (vars: Record<string, string>) => Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(vars))))

// Why a model layer could not be built.
const failureTag = (layer: Layer.Layer<LanguageModel.LanguageModel, Lm.SetupError>) => Effect.flip(Effect.scoped(Layer.build(layer)))

describe("Lm", () => {
  it.effect("a malformed id or an unknown provider is InvalidModelId, listing the providers", () =>
    Effect.gen(function*() {
      const missing = yield* failureTag(Lm.layer("gpt-4o"))
      assert.strictEqual(missing._tag, "InvalidModelId")
      const unknown = yield* failureTag(Lm.layer("acme/rocket-1"))
      assert.include(unknown.message, "unknown provider \"acme\"")
      assert.include(unknown.message, "openai, anthropic, google, openai-compatible")
    }))

  it.effect("a provider without its key is MissingConfiguration naming the variable", () =>
    Effect.gen(function*() {
      const openai = yield* failureTag(Lm.layer("openai/gpt-4o-mini")).pipe(env({}))
      assert.strictEqual(openai._tag, "MissingConfiguration")
      assert.include(openai.message, "OPENAI_API_KEY")
      const compatible = yield* failureTag(Lm.layer("openai-compatible/llama3")).pipe(env({}))
      assert.include(compatible.message, "OPENAI_COMPATIBLE_BASE_URL")
      const google = yield* failureTag(Lm.layer("google/gemini-2.0-flash")).pipe(env({ GEMINI_API_KEY: "  " }))
      assert.include(google.message, "GEMINI_API_KEY or GOOGLE_API_KEY")
    }))

  it.effect("layerFromEnv with nothing configured fails, naming every variable; it never answers with a stand-in", () =>
    Effect.gen(function*() {
      const error = yield* failureTag(Lm.layerFromEnv()).pipe(env({}))
      assert.strictEqual(error._tag, "MissingConfiguration")
      for (const name of ["EFFECT_DSPY_MODEL", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY"]) assert.include(error.message, name)
    }))

  it.effect("resolveFromEnv: EFFECT_DSPY_MODEL first, then the first provider whose key is set", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* Lm.resolveFromEnv.pipe(env({ OPENAI_API_KEY: "k", EFFECT_DSPY_MODEL: "anthropic/claude-x" })), Option.some("anthropic/claude-x"))
      assert.deepStrictEqual(yield* Lm.resolveFromEnv.pipe(env({ ANTHROPIC_API_KEY: "k" })), Option.some("anthropic/claude-3-5-haiku-latest"))
      assert.deepStrictEqual(yield* Lm.resolveFromEnv.pipe(env({ GOOGLE_API_KEY: "k" })), Option.some("google/gemini-2.0-flash"))
      assert.deepStrictEqual(yield* Lm.resolveFromEnv.pipe(env({ OPENAI_COMPATIBLE_BASE_URL: "http://x/v1" })), Option.none())
    }))

  it.scoped("layerFromEnv builds the configured model from its variables", () =>
    Effect.gen(function*() {
      const server = yield* serve([completion({ content: "from env" })])
      const model = Lm.layerFromEnv({ retry: false })
      const exit = yield* generate(model).pipe(env({ EFFECT_DSPY_MODEL: "openai-compatible/llama3", OPENAI_COMPATIBLE_BASE_URL: `${server.url}/v1` }))
      assert.strictEqual(valueOf(exit).text, "from env")
      assert.strictEqual(server.received[0]!.body.model, "llama3")
    }))

  it.effect("a registered provider serves its prefix, wrapped in the retry policy", () =>
    Effect.gen(function*() {
      const fake = Fake.make([Fake.fail(Fake.httpError(503)), Fake.ok("registered")])
      const mine: ProviderRegistry.Provider = {
        name: "mine",
        env: { variables: [] },
        make: () => Effect.succeed({ layer: fake.layer, secrets: [] })
      }
      const model = Lm.layer("mine/model-1", { retry: { baseDelay: "1 millis", jitter: false } }).pipe(Layer.provide(ProviderRegistry.register(mine)))
      const exit = yield* generate(model)
      assert.strictEqual(valueOf(exit).text, "registered")
      assert.strictEqual(fake.attempts.length, 2)
    }))

  it.effect("the layer names the provider and model in core's LmConfig, keeping the settings in force", () =>
    Effect.gen(function*() {
      const mine: ProviderRegistry.Provider = { name: "mine", env: { variables: [] }, make: () => Effect.succeed({ layer: Fake.make([Fake.ok()]).layer, secrets: [] }) }
      const settings = yield* Effect.scoped(Effect.flatMap(
        Layer.build(Lm.layer("mine/model-1").pipe(Layer.provide(ProviderRegistry.register(mine)))),
        (context) => Effect.provide(LmConfig.LmConfig, context)
      )).pipe(LmConfig.withSettings({ temperature: 0.2 }))
      assert.deepStrictEqual([settings.provider, settings.model, settings.temperature], ["mine", "model-1", 0.2])
      assert.isUndefined(settings.server)
    }))

  it.effect("the layer names the provider's server (host and port of its base URL) for core's LM spans", () =>
    Effect.gen(function*() {
      const server = (baseUrl: string) => {
        const mine: ProviderRegistry.Provider = {
          name: "mine",
          env: { variables: [] },
          make: () => Effect.succeed({ layer: Fake.make([Fake.ok()]).layer, secrets: [], baseUrl })
        }
        return Effect.scoped(Effect.flatMap(
          Layer.build(Lm.layer("mine/model-1").pipe(Layer.provide(ProviderRegistry.register(mine)))),
          (context) => Effect.map(Effect.provide(LmConfig.LmConfig, context), (settings) => settings.server)
        ))
      }
      assert.deepStrictEqual(yield* server("https://api.openai.com/v1"), { address: "api.openai.com", port: 443 })
      assert.deepStrictEqual(yield* server("http://127.0.0.1:11434/v1"), { address: "127.0.0.1", port: 11434 })
      // A built-in provider hands over its base URL (credentials in it are not part of the server).
      const builtIn = yield* Effect.scoped(Effect.flatMap(
        Layer.build(Lm.layer("openai-compatible/llama3.1:8b", { baseUrl: "http://user:pw@localhost:11434/v1" })),
        (context) => Effect.map(Effect.provide(LmConfig.LmConfig, context), (settings) => settings.server)
      ))
      assert.deepStrictEqual(builtIn, { address: "localhost", port: 11434 })
    }))

  it.scoped("a request makes no span of its own: the call's span names the server and is the request's traceparent", () =>
    Effect.gen(function*() {
      const server = yield* serve([completion({ content: "ok" })])
      const spans: Array<Tracer.Span> = []
      const native = yield* Effect.tracer
      const tracer = Tracer.make({
        span: (...args) => {
          const span = native.span(...args)
          spans.push(span)
          return span
        },
        context: native.context
      })
      const model = Lm.layer("openai-compatible/m", { baseUrl: `${server.url}/v1`, retry: false })
      valueOf(yield* generate(model).pipe(Effect.withTracer(tracer)))
      assert.deepStrictEqual(spans.map((s) => s.name), ["LanguageModel.generateText"])
      const call = spans[0]!
      assert.strictEqual(server.received[0]!.headers.traceparent, `00-${call.traceId}-${call.spanId}-01`)
      assert.strictEqual(call.attributes.get("server.address"), "127.0.0.1")
      assert.strictEqual(call.attributes.get("server.port"), Number(new URL(server.url).port))
    }))

  describe("cache", () => {
    // A registered provider over a fake model that counts its requests.
    const counting = (name = "mine") => {
      const fake = Fake.make([Fake.ok("from the model")])
      const provider: ProviderRegistry.Provider = { name, env: { variables: [] }, make: () => Effect.succeed({ layer: fake.layer, secrets: [] }) }
      return { fake, registry: ProviderRegistry.register(provider) }
    }
    const twice = (model: Layer.Layer<LanguageModel.LanguageModel, Lm.SetupError>) =>
      Effect.scoped(Effect.gen(function*() {
        const context = yield* Layer.build(model)
        const call = LanguageModel.generateText({ prompt: "What is 2 + 2?" }).pipe(Effect.provide(context))
        const first = yield* call
        const second = yield* call
        return { texts: [first.text, second.text], hits: [LmCache.isCacheHit(first.content), LmCache.isCacheHit(second.content)], context }
      }))
    const tempDirectory = Effect.acquireRelease(
      Effect.sync(() => NodeFileSystem.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "lm-cache-"))),
      (directory) => Effect.sync(() => NodeFileSystem.rmSync(directory, { recursive: true, force: true }))
    )

    it.effect("off by default: the same call twice is two requests", () =>
      Effect.gen(function*() {
        const { fake, registry } = counting()
        const { hits } = yield* twice(Lm.layer("mine/model-1", { retry: false }).pipe(Layer.provide(registry)))
        assert.strictEqual(fake.attempts.length, 2)
        assert.deepStrictEqual(hits, [false, false])
      }))

    it.effect("cache: true: the same call twice is one request, the second a marked hit; the cache is in the layer's context", () =>
      Effect.gen(function*() {
        const { fake, registry } = counting()
        const { texts, hits, context } = yield* twice(Lm.layer("mine/model-1", { retry: false, cache: true }).pipe(Layer.provide(registry)))
        assert.strictEqual(fake.attempts.length, 1)
        assert.deepStrictEqual(texts, ["from the model", "from the model"])
        assert.deepStrictEqual(hits, [false, true])
        assert.isTrue(Option.isSome(Context.getOption(context as Context.Context<unknown>, LmCache.LmCache)))
      }))

    it.scoped("cache: { directory }: a second layer (a later run) answers from the files; another model id does not share them", () =>
      Effect.gen(function*() {
        const directory = yield* tempDirectory
        const first = counting()
        yield* twice(Lm.layer("mine/model-1", { retry: false, cache: { directory } }).pipe(Layer.provide(first.registry)))
        assert.strictEqual(first.fake.attempts.length, 1)
        assert.isAbove(NodeFileSystem.readdirSync(directory).length, 0)
        const later = counting()
        const again = yield* twice(Lm.layer("mine/model-1", { retry: false, cache: { directory } }).pipe(Layer.provide(later.registry)))
        assert.strictEqual(later.fake.attempts.length, 0)
        assert.deepStrictEqual(again.hits, [true, true])
        const other = counting()
        yield* twice(Lm.layer("mine/model-2", { retry: false, cache: { directory } }).pipe(Layer.provide(other.registry)))
        assert.strictEqual(other.fake.attempts.length, 1)
      }))

    it.scoped("a cache directory that cannot be made is CacheUnavailable, before any request", () =>
      Effect.gen(function*() {
        const directory = yield* tempDirectory
        const file = NodePath.join(directory, "a-file")
        NodeFileSystem.writeFileSync(file, "not a directory")
        const { fake, registry } = counting()
        const error = yield* failureTag(Lm.layer("mine/model-1", { cache: { directory: NodePath.join(file, "cache") } }).pipe(Layer.provide(registry)))
        assert.strictEqual(error._tag, "CacheUnavailable")
        assert.include(error.message, "a-file")
        assert.strictEqual(fake.attempts.length, 0)
      }))
  })
})
