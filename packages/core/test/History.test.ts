import { assert, describe, it } from "@effect/vitest"
import { Chunk, Duration, Effect, Layer, Stream, TestClock } from "effect"
import { type DspyEvent, EventBus, History, LmCache, Predict, Signature, StreamPredict, Usage } from "../src/index.js"
import * as ScriptedLm from "./utils/ScriptedLm.js"

const QA = Signature.fromString("question -> answer")

describe("cache hits in usage and events", () => {
  it.effect("a hit is a cached call with no tokens, in the prediction and in Usage.track", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make(() => ScriptedLm.reply({ answer: "Paris" }))
      const qa = Predict.make(QA)
      const [[first, second], total] = yield* Usage.track(Effect.all([qa({ question: "q" }), qa({ question: "q" })])).pipe(
        Effect.provide(LmCache.layer().pipe(Layer.provide(lm.layer)))
      )
      assert.deepInclude(first.usage, { lmCalls: 1, cachedCalls: 0, inputTokens: 10 })
      assert.deepInclude(second.usage, { lmCalls: 0, cachedCalls: 1, inputTokens: 0, outputTokens: 0, totalTokens: 0 })
      assert.deepInclude(total, { lmCalls: 1, cachedCalls: 1, inputTokens: 10 })
    }))

  it.scoped("lm.end says whether the reply came from the cache", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make(() => ScriptedLm.reply({ answer: "Paris" }))
      const bus = yield* EventBus.make
      const ends: Array<DspyEvent.LmEnd> = []
      yield* Effect.provideService(EventBus.on("lm.end", (e) => Effect.sync(() => e.type === "lm.end" && ends.push(e))), EventBus.EventBus, bus)
      const qa = Predict.make(QA)
      yield* Effect.all([qa({ question: "q" }), qa({ question: "q" })]).pipe(
        Effect.provide(LmCache.layer().pipe(Layer.provide(lm.layer))),
        Effect.provideService(EventBus.EventBus, bus)
      )
      yield* Effect.yieldNow()
      yield* TestClock.adjust(Duration.millis(1))
      assert.deepStrictEqual(ends.map((e) => [e.cached, e.usage.cachedCalls]), [[false, 0], [true, 1]])
    }))

  it.effect("a streamed call replayed from the cache counts as cached", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make(() => ScriptedLm.reply({ answer: "Paris" }))
      const finals = yield* Effect.forEach([1, 2], () =>
        StreamPredict.stream(Predict.make(QA), { question: "q" }).pipe(
          Stream.runCollect,
          Effect.map((events) => Chunk.toArray(events).at(-1)!)
        )).pipe(Effect.provide(LmCache.layer().pipe(Layer.provide(lm.layer))))
      assert.strictEqual(lm.counters.calls, 1)
      const usage = finals.map((e) => (e._tag === "Final" ? e.prediction.usage.cachedCalls : -1))
      assert.deepStrictEqual(usage, [0, 1])
    }))
})

describe("History", () => {
  it.effect("keeps the last calls with their prompt, reply, usage and module", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 2, 3, 4, 5))
      const lm = ScriptedLm.make((prompt) => ScriptedLm.reply({ answer: `re: ${ScriptedLm.inputsOf(ScriptedLm.lastUserText(prompt))["question"]}` }))
      const qa = Predict.make(QA, { name: "Asker" })
      const [entries, text] = yield* Effect.gen(function*() {
        for (const question of ["one", "two", "three"]) yield* qa({ question })
        return [yield* History.entries, yield* History.inspect(1)] as const
      }).pipe(Effect.provide(Layer.merge(lm.layer, History.layer({ size: 2 }))))
      assert.strictEqual(entries.length, 2)
      const last = entries[1]!
      assert.strictEqual(last.module, "Asker")
      assert.strictEqual(last.signature, QA.name)
      assert.include(last.reply, "re: three")
      assert.strictEqual(last.usage.lmCalls, 1)
      assert.isFalse(last.cached)
      assert.strictEqual(last.timestamp, Date.UTC(2026, 0, 2, 3, 4, 5))
      assert.include(ScriptedLm.lastUserText(last.prompt), "three")
      assert.include(entries[0]!.reply, "re: two")
      // DSPy's layout: time, each message by role, the response
      assert.include(text, "[2026-01-02T03:04:05.000Z] Asker (question -> answer)")
      assert.include(text, "System message:\nYour input fields are:")
      assert.include(text, "User message:\n[[ ## question ## ]]\nthree")
      assert.include(text, "Response:\n[[ ## answer ## ]]\nre: three")
      assert.notInclude(text, "re: two")
      assert.notInclude(text, "\x1b[")
      assert.include(yield* History.inspect(1, { color: true }).pipe(Effect.provide(History.layer())), "\n\n\n")
    }))

  it.effect("without the layer nothing is kept", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make(() => ScriptedLm.reply({ answer: "a" }))
      yield* Predict.make(QA)({ question: "q" }).pipe(Effect.provide(lm.layer))
      assert.deepStrictEqual(yield* History.entries, [])
    }))

  it.effect("a cached call is kept and marked", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make(() => ScriptedLm.reply({ answer: "a" }))
      const qa = Predict.make(QA)
      const entries = yield* Effect.zipRight(Effect.all([qa({ question: "q" }), qa({ question: "q" })]), History.entries).pipe(
        Effect.provide(Layer.merge(LmCache.layer().pipe(Layer.provide(lm.layer)), History.layer()))
      )
      assert.deepStrictEqual(entries.map((e) => e.cached), [false, true])
      const text = History.render(entries.slice(1))
      assert.include(text, "cache hit")
    }))
})
