import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Response from "@effect/ai/Response"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Fiber, Layer, Redacted, Schema, Stream, TestClock } from "effect"
import { execFile } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { JsonAdapter, LmCache, LmConfig, Predict, Adapter, Signature } from "../src/index.js"
import * as ScriptedLm from "./utils/ScriptedLm.js"

const ask = (prompt: string) => LanguageModel.generateText({ prompt })

const cached = (lm: ReturnType<typeof ScriptedLm.make>, options?: LmCache.Options) =>
  LmCache.layer(options).pipe(Layer.provide(lm.layer))

// Waits (without time passing) until a condition holds; key hashing resolves on the event loop.
const until = (condition: () => boolean) => Effect.repeat(Effect.yieldNow(), { until: condition })

const echo = () => ScriptedLm.make((prompt, call) => `reply ${call} to ${ScriptedLm.lastUserText(prompt)}`)

describe("LmCache", () => {
  it.effect("the same call twice is one request; the hit has zero usage and is marked", () =>
    Effect.gen(function*() {
      const lm = echo()
      const [first, second, stats] = yield* Effect.all([ask("hi"), ask("hi"), Effect.flatMap(LmCache.LmCache, (c) => c.stats)]).pipe(
        Effect.provide(cached(lm))
      )
      assert.strictEqual(lm.counters.calls, 1)
      assert.strictEqual(second.text, first.text)
      assert.isFalse(LmCache.isCacheHit(first.content))
      assert.isTrue(LmCache.isCacheHit(second.content))
      assert.strictEqual(first.usage.inputTokens, 10)
      assert.strictEqual(second.usage.inputTokens, 0)
      assert.strictEqual(second.finishReason, "stop")
      assert.deepInclude(stats, { memoryHits: 1, misses: 1, entries: 1 })
    }))

  it.effect("the settings are part of the key: rollout ids and temperatures make new requests", () =>
    Effect.gen(function*() {
      const lm = echo()
      const replies = yield* Effect.all([
        ask("hi"),
        ask("hi").pipe(LmConfig.withSettings({ rolloutId: 1 })),
        ask("hi").pipe(LmConfig.withSettings({ rolloutId: 2 })),
        ask("hi").pipe(LmConfig.withSettings({ rolloutId: 2 })),
        ask("hi").pipe(LmConfig.withSettings({ temperature: 0.5 })),
        ask("hi").pipe(LmConfig.withSettings({ n: 3 })),
        ask("hello")
      ]).pipe(Effect.provide(cached(lm)))
      assert.strictEqual(lm.counters.calls, 6)
      assert.strictEqual(replies[2].text, replies[3].text)
      assert.notStrictEqual(replies[1].text, replies[2].text)
    }))

  it.effect("concurrent identical calls make one request", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make(() => Effect.as(Effect.sleep("1 second"), "slow reply"))
      const [replies, stats] = yield* Effect.gen(function*() {
        const cache = yield* LmCache.LmCache
        const fiber = yield* Effect.fork(Effect.all(Array.from({ length: 5 }, () => ask("same")), { concurrency: "unbounded" }))
        // every call is in: one request made, four waiting for it
        yield* Effect.repeat(Effect.zipRight(Effect.yieldNow(), cache.stats), { until: (s) => s.waiting === 4 })
        yield* TestClock.adjust("1 second")
        return [yield* Fiber.join(fiber), yield* cache.stats] as const
      }).pipe(Effect.provide(cached(lm)))
      assert.strictEqual(lm.counters.calls, 1)
      assert.deepStrictEqual(replies.map((r) => r.text), Array(5).fill("slow reply"))
      assert.deepInclude(stats, { misses: 1, joined: 4 })
      assert.strictEqual(replies.filter((r) => LmCache.isCacheHit(r.content)).length, 4)
    }))

  it.effect("when the call others wait for is interrupted, one of them makes it", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make(() => Effect.as(Effect.sleep("1 second"), "slow reply"))
      const text = yield* Effect.gen(function*() {
        const cache = yield* LmCache.LmCache
        const leader = yield* Effect.fork(ask("same"))
        yield* until(() => lm.counters.inFlight === 1)
        const waiter = yield* Effect.fork(ask("same"))
        yield* Effect.repeat(Effect.zipRight(Effect.yieldNow(), cache.stats), { until: (stats) => stats.waiting === 1 })
        yield* Fiber.interrupt(leader)
        yield* TestClock.adjust("1 second")
        return (yield* Fiber.join(waiter)).text
      }).pipe(Effect.provide(cached(lm)))
      assert.strictEqual(text, "slow reply")
      assert.strictEqual(lm.counters.calls, 2)
      assert.strictEqual(lm.counters.interrupted, 1)
    }))

  it.effect("failures are not kept", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make((_prompt, call) => call === 1 ? Effect.die("boom") : "fine")
      const [first, second] = yield* Effect.all([Effect.exit(ask("hi")), ask("hi")]).pipe(Effect.provide(cached(lm)))
      assert.strictEqual(first._tag, "Failure")
      assert.strictEqual(second.text, "fine")
      assert.strictEqual(lm.counters.calls, 2)
    }))

  it.effect("memory is bounded: the least recently used entry goes first", () =>
    Effect.gen(function*() {
      const lm = echo()
      yield* Effect.all([ask("a"), ask("b"), ask("a"), ask("c"), ask("a"), ask("b")]).pipe(
        Effect.provide(cached(lm, { capacity: 2 }))
      )
      // a, b: misses; a: hit (a is now newest); c: miss, evicts b; a: hit; b: miss
      assert.strictEqual(lm.counters.calls, 4)
    }))

  it.effect("streamed calls are kept and replayed as a stream", () =>
    Effect.gen(function*() {
      const lm = echo()
      const collect = LanguageModel.streamText({ prompt: "stream me" }).pipe(Stream.runCollect, Effect.map(Chunk.toArray))
      const [first, second] = yield* Effect.all([collect, collect]).pipe(Effect.provide(cached(lm)))
      assert.strictEqual(lm.counters.calls, 1)
      const text = (parts: ReadonlyArray<Response.StreamPart<{}>>) =>
        parts.flatMap((p) => (p.type === "text-delta" ? [p.delta] : [])).join("")
      assert.strictEqual(text(second), text(first))
      assert.strictEqual(text(first), "reply 1 to stream me")
      assert.isTrue(LmCache.isCacheHit(second))
      assert.isFalse(LmCache.isCacheHit(first))
    }))

  it.effect("structured output (the JSON adapter) is cached and decoded again", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make(() => JSON.stringify({ answer: 4 }))
      const qa = Predict.make(Signature.fromString("question -> answer: int"))
      const [a, b] = yield* Effect.all([qa({ question: "2+2?" }), qa({ question: "2+2?" })]).pipe(
        Adapter.withAdapter(JsonAdapter.adapter),
        Effect.provide(cached(lm))
      )
      assert.strictEqual(a.output.answer, 4)
      assert.strictEqual(b.output.answer, 4)
      assert.strictEqual(lm.counters.calls, 1)
    }))

  it.effect("the key holds the settings and messages, never a secret", () =>
    Effect.gen(function*() {
      const apiKey = "sk-test-0123456789"
      // A secret that found its way into the settings (it has no business there) is left out.
      const settings = { model: "gpt-x", temperature: 1, rolloutId: 7, n: 2, apiKey: Redacted.make(apiKey) }
      const { key, material } = yield* LmCache.requestKey({ method: "generateText", prompt: "hello there" }).pipe(
        Effect.provideService(LmConfig.LmConfig, settings)
      )
      assert.match(key, /^lm-[0-9a-f]{64}$/)
      assert.notInclude(material, apiKey)
      assert.notInclude(material, "apiKey")
      for (const part of ["\"rolloutId\":7", "\"n\":2", "\"model\":\"gpt-x\"", "hello there"]) assert.include(material, part)
      // stable: the same request in another key order gives the same key
      const again = yield* LmCache.requestKey({ method: "generateText", prompt: "hello there" }).pipe(
        Effect.provideService(LmConfig.LmConfig, { n: 2, rolloutId: 7, temperature: 1, model: "gpt-x" })
      )
      assert.strictEqual(again.key, key)
    }))

  it.effect("a response format or a namespace changes the key", () =>
    Effect.gen(function*() {
      const plain = yield* LmCache.requestKey({ method: "generateText", prompt: "p" })
      const object = yield* LmCache.requestKey({
        method: "generateObject",
        prompt: "p",
        responseFormat: { objectName: "o", schema: Schema.Struct({ a: Schema.Number }) }
      })
      const spaced = yield* LmCache.requestKey({ method: "generateText", prompt: "p" }, { namespace: "model-b" })
      assert.strictEqual(new Set([plain.key, object.key, spaced.key]).size, 3)
    }))
})

describe("LmCache.ensure", () => {
  it.effect("caches the model in context for as long as the effect runs; each run has a cache of its own", () =>
    Effect.gen(function*() {
      const lm = echo()
      const twice = Effect.zipRight(ask("hi"), ask("hi"))
      const second = yield* twice.pipe(LmCache.ensure(), Effect.provide(lm.layer))
      assert.strictEqual(lm.counters.calls, 1)
      assert.isTrue(LmCache.isCacheHit(second.content))
      yield* twice.pipe(LmCache.ensure(), Effect.provide(lm.layer))
      assert.strictEqual(lm.counters.calls, 2)
      // Without it, each call is a request.
      yield* twice.pipe(Effect.provide(lm.layer))
      assert.strictEqual(lm.counters.calls, 4)
    }))

  it.effect("a cache already in force is used instead (its stats count the calls)", () =>
    Effect.gen(function*() {
      const lm = echo()
      const stats = yield* Effect.zipRight(
        Effect.zipRight(ask("hi"), ask("hi")).pipe(LmCache.ensure()),
        Effect.flatMap(LmCache.LmCache, (cache) => cache.stats)
      ).pipe(Effect.provide(cached(lm)))
      assert.strictEqual(lm.counters.calls, 1)
      assert.deepInclude(stats, { memoryHits: 1, misses: 1 })
    }))

  it.effect("without a model in context, the effect runs as it is", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* Effect.succeed(42).pipe(LmCache.ensure()), 42)
    }))
})

describe("LmCache on the file system", () => {
  const withDirectory = <A, E, R>(use: (directory: string) => Effect.Effect<A, E, R>) =>
    Effect.acquireUseRelease(
      Effect.sync(() => mkdtempSync(Path.join(tmpdir(), "lm-cache-"))),
      use,
      (directory) => Effect.sync(() => rmSync(directory, { recursive: true, force: true }))
    )

  const onDisk = (lm: ReturnType<typeof ScriptedLm.make>, directory: string) =>
    LmCache.layerFileSystem(directory).pipe(Layer.provide([lm.layer, NodeContext.layer]))

  it.effect("a second cache over the same directory answers from it", () =>
    withDirectory((directory) =>
      Effect.gen(function*() {
        const first = echo()
        const a = yield* ask("persist me").pipe(Effect.provide(onDisk(first, directory)))
        const second = echo()
        const [b, stats] = yield* Effect.all([ask("persist me"), Effect.flatMap(LmCache.LmCache, (c) => c.stats)]).pipe(
          Effect.provide(onDisk(second, directory))
        )
        assert.strictEqual(first.counters.calls, 1)
        assert.strictEqual(second.counters.calls, 0)
        assert.strictEqual(b.text, a.text)
        assert.isTrue(LmCache.isCacheHit(b.content))
        assert.deepInclude(stats, { storeHits: 1, misses: 0 })
        // one file per reply, named by the key's hash; it holds the reply, not the prompt's secrets
        const files = readdirSync(directory)
        assert.strictEqual(files.length, 1)
        assert.match(files[0]!, /^lm-[0-9a-f]{64}$/)
        assert.include(readFileSync(Path.join(directory, files[0]!), "utf8"), "reply 1 to persist me")
      })
    ))

  it.effect("an entry that does not decode is a miss, and is written again", () =>
    withDirectory((directory) =>
      Effect.gen(function*() {
        const first = echo()
        yield* ask("x").pipe(Effect.provide(onDisk(first, directory)))
        const file = Path.join(directory, readdirSync(directory)[0]!)
        yield* Effect.sync(() => rmSync(file))
        yield* Effect.promise(() => import("node:fs/promises").then((fs) => fs.writeFile(file, "{\"version\":1,")))
        const second = echo()
        const reply = yield* ask("x").pipe(Effect.provide(onDisk(second, directory)))
        assert.strictEqual(second.counters.calls, 1)
        assert.strictEqual(reply.text, "reply 1 to x")
        assert.include(readFileSync(file, "utf8"), "reply 1 to x")
      })
    ))

  it.live("persists across processes", () =>
    withDirectory((directory) =>
      Effect.gen(function*() {
        const script = Path.join(Path.dirname(fileURLToPath(import.meta.url)), "utils", "cacheProcess.ts")
        const run = () =>
          Effect.promise(() =>
            promisify(execFile)(process.execPath, ["--import", "tsx", script, directory], { timeout: 120_000 })
          ).pipe(Effect.map(({ stdout }) => JSON.parse(stdout.trim().split("\n").at(-1)!) as { calls: number; text: string }))
        const first = yield* run()
        const second = yield* run()
        assert.deepStrictEqual(first, { calls: 1, text: "reply 1 to across processes" })
        assert.deepStrictEqual(second, { calls: 0, text: "reply 1 to across processes" })
      })
    ), 240_000)
})
