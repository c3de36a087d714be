import * as LanguageModel from "@effect/ai/LanguageModel"
import { Module, Predict, Signature } from "@effect-dspy/core"
import { Resilience } from "@effect-dspy/providers"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Duration, Effect, Fiber, Layer, Logger, Metric, Option, Stream, TestClock } from "effect"
import { Batch, BatchMetrics, Cache, RateControl } from "../src/index.js"
import * as ScriptedLm from "./utils/ScriptedLm.js"

const QA = Signature.fromString("question -> answer")
const qa = Predict.make(QA)

/** Runs an effect in the background, moving the TestClock in steps until it is done. */
const drive = <A, E>(effect: Effect.Effect<A, E>, step: Duration.DurationInput = "10 millis") =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    for (;;) {
      const exit = yield* Fiber.poll(fiber)
      if (Option.isSome(exit)) return yield* exit.value
      yield* TestClock.adjust(step)
    }
  })

const questions = (n: number) => Array.from({ length: n }, (_, i) => ({ question: `q${i}` }))

describe("Batch.stream", () => {
  it.effect("never runs more items at once than the concurrency", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make((q, call) =>
        Effect.as(Effect.sleep(Duration.millis(50 + (call % 5) * 10)), ScriptedLm.reply({ answer: `a-${q}` }))
      )
      const { outcomes, summary } = yield* drive(Batch.run(qa, questions(25), { concurrency: 4 }).pipe(Effect.provide(lm.layer)))
      assert.strictEqual(outcomes.length, 25)
      assert.strictEqual(lm.counters.calls, 25)
      assert.strictEqual(lm.counters.maxInFlight, 4)
      assert.strictEqual(summary.succeeded, 25)
      assert.strictEqual(summary.lmCalls, 25)
    }))

  it.effect("streams outcomes in completion order, each tagged with its input", () =>
    Effect.gen(function*() {
      // later inputs answer faster
      const lm = ScriptedLm.make((q) =>
        Effect.as(Effect.sleep(Duration.millis((20 - Number(q.slice(1))) * 10)), ScriptedLm.reply({ answer: `a-${q}` }))
      )
      const inputs = questions(8)
      const { outcomes } = yield* drive(Batch.run(qa, inputs, { concurrency: 4 }).pipe(Effect.provide(lm.layer)))
      // q3 is the fastest of the first four to start
      assert.strictEqual(outcomes[0]!.index, 3)
      assert.notDeepEqual(outcomes.map((o) => o.index), [0, 1, 2, 3, 4, 5, 6, 7])
      assert.deepStrictEqual([...outcomes.map((o) => o.index)].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7])
      for (const outcome of outcomes) {
        assert(outcome._tag === "Success")
        assert.strictEqual(outcome.id, String(outcome.index))
        assert.deepStrictEqual(outcome.input, inputs[outcome.index])
        assert.strictEqual(outcome.output.answer, `a-${inputs[outcome.index]!.question}`)
      }
    }))

  it.effect("stops after maxErrors failures and counts the items not attempted", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make((q) =>
        Effect.zipRight(
          Effect.sleep("10 millis"),
          q === "q3" || q === "q4" || q === "q9"
            ? Effect.fail(ScriptedLm.httpError(400))
            : Effect.succeed(ScriptedLm.reply({ answer: "ok" }))
        )
      )
      const { outcomes, summary } = yield* drive(
        Batch.run(qa, questions(40), { concurrency: 2, maxErrors: 1 }).pipe(Effect.provide(lm.layer))
      )
      assert.isTrue(summary.stoppedEarly)
      assert.strictEqual(summary.failed, 2)
      assert.deepStrictEqual(summary.failedByKind, { BadRequest: 2 })
      assert.strictEqual(summary.succeeded + summary.failed, outcomes.length)
      assert.strictEqual(summary.finished + summary.notAttempted, 40)
      assert.isAbove(summary.notAttempted, 30)
      assert.isBelow(lm.counters.calls, 10)
    }))

  it.effect("calls the model once per distinct input", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make((q) => Effect.as(Effect.sleep("100 millis"), ScriptedLm.reply({ answer: `a-${q}` })))
      const inputs = Array.from({ length: 12 }, (_, i) => ({ question: `q${i % 3}` }))
      const { outcomes, summary } = yield* drive(Batch.run(qa, inputs, { concurrency: 4 }).pipe(Effect.provide(lm.layer)))
      assert.strictEqual(lm.counters.calls, 3)
      assert.strictEqual(outcomes.length, 12)
      assert.strictEqual(summary.succeeded, 12)
      assert.strictEqual(summary.cached, 9)
      for (const o of outcomes) {
        assert(o._tag === "Success")
        assert.strictEqual(o.output.answer, `a-${o.input.question}`)
      }
      // without de-duplication every item calls the model
      const again = ScriptedLm.make((q) => ScriptedLm.reply({ answer: `a-${q}` }))
      yield* Batch.run(qa, inputs, { concurrency: 4, dedupe: false }).pipe(Effect.provide(again.layer))
      assert.strictEqual(again.counters.calls, 12)
    }))

  it.effect("the de-duplication memory is bounded: a forgotten result is counted, warned about and recomputed", () =>
    Effect.gen(function*() {
      // one at a time. With room for 2 (least recently used out): c pushes out b, not a, which
      // was just used; so both repeats of a hit. With room for 1: no repeat hits.
      const inputs = ["a", "b", "a", "c", "a"].map((question) => ({ question }))
      const roomy = ScriptedLm.make((q) => ScriptedLm.reply({ answer: q }))
      const r2 = yield* Batch.run(qa, inputs, { concurrency: 1, memoCapacity: 2 }).pipe(Effect.provide(roomy.layer))
      assert.deepStrictEqual(roomy.counters.questions, ["a", "b", "c"])
      assert.strictEqual(r2.summary.cached, 2)
      assert.strictEqual(r2.summary.memoEvicted, 1)
      const warnings: Array<string> = []
      const logger = Logger.make(({ logLevel, message }) => {
        if (logLevel._tag === "Warning") warnings.push(String(message))
      })
      const tight = ScriptedLm.make((q) => ScriptedLm.reply({ answer: q }))
      const r1 = yield* Batch.run(qa, inputs, { concurrency: 1, memoCapacity: 1 }).pipe(
        Effect.provide(tight.layer),
        Effect.provide(Logger.replace(Logger.defaultLogger, logger))
      )
      assert.deepStrictEqual(tight.counters.questions, ["a", "b", "a", "c", "a"])
      assert.strictEqual(r1.summary.cached, 0)
      assert.strictEqual(r1.summary.memoEvicted, 4)
      assert.strictEqual(r1.summary.succeeded, 5)
      // warned once, not per eviction
      assert.strictEqual(warnings.filter((w) => w.includes("memoCapacity 1")).length, 1)
    }))

  it.effect("items are counted in the tagged series of effect_dspy_batch_items_total", () =>
    Effect.gen(function*() {
      const series = (status: string, kind: string) =>
        Effect.map(Metric.value(Metric.tagged(Metric.tagged(BatchMetrics.itemsTotal, "status", status), "kind", kind)), (s) => s.count)
      const ok0 = yield* series("success", "ok")
      const lm = ScriptedLm.make((q) => q === "q1" ? Effect.fail(ScriptedLm.httpError(400)) : ScriptedLm.reply({ answer: q }))
      const { summary } = yield* Batch.run(qa, questions(3), { concurrency: 2 }).pipe(Effect.provide(lm.layer))
      const kind = Object.keys(summary.failedByKind)[0]!
      assert.strictEqual((yield* series("success", "ok")) - ok0, 2)
      assert.isAtLeast(yield* series("failure", kind), 1)
    }))

  it.effect("a run under metric tags counts its items, latencies and tokens in the tagged series", () =>
    Effect.gen(function*() {
      const job = `job-${Math.random()}`
      const tagged = <Type, In, Out>(metric: Metric.Metric<Type, In, Out>) => Metric.tagged(metric, "job", job)
      const lm = ScriptedLm.make((q) => q === "q1" ? Effect.fail(ScriptedLm.httpError(400)) : ScriptedLm.reply({ answer: q }))
      const { summary } = yield* Batch.run(qa, questions(4), { concurrency: 2 }).pipe(
        Effect.provide(lm.layer),
        Effect.tagMetrics("job", job)
      )
      const kind = Object.keys(summary.failedByKind)[0]!
      // (a series' tags are in order: the metric's own, then the run's)
      const items = (status: string, kind: string) =>
        Effect.map(Metric.value(tagged(Metric.tagged(Metric.tagged(BatchMetrics.itemsTotal, "status", status), "kind", kind))), (s) => s.count)
      assert.strictEqual(yield* items("success", "ok"), 3)
      assert.strictEqual(yield* items("failure", kind), 1)
      // every item called the model: all four latencies, in the summary and the histogram
      assert.strictEqual((yield* Metric.value(tagged(BatchMetrics.itemLatency))).count, 4)
      assert.strictEqual((yield* Metric.value(tagged(BatchMetrics.itemLatencyHistogram))).count, 4)
      const tokens = (type: string) => Effect.map(Metric.value(tagged(Metric.tagged(BatchMetrics.tokensTotal, "type", type))), (s) => s.count)
      assert.strictEqual(yield* tokens("input"), summary.tokens.input)
      assert.strictEqual(yield* tokens("output"), summary.tokens.output)
      assert.isAbove(summary.tokens.input, 0)
    }))

  it.effect("a persistent cache serves identical inputs across runs, per namespace", () =>
    Effect.gen(function*() {
      const cache = yield* Cache.memory
      const lm = ScriptedLm.make((q) => ScriptedLm.reply({ answer: `a-${q}` }))
      yield* Batch.run(qa, questions(5), { cache, cacheNamespace: "m1" }).pipe(Effect.provide(lm.layer))
      assert.strictEqual(lm.counters.calls, 5)
      const second = yield* Batch.run(qa, questions(7), { cache, cacheNamespace: "m1" }).pipe(Effect.provide(lm.layer))
      assert.strictEqual(lm.counters.calls, 7)
      assert.strictEqual(second.outcomes.filter((o) => o._tag === "Success" && o.cached === "disk").length, 5)
      yield* Batch.run(qa, questions(5), { cache, cacheNamespace: "m2" }).pipe(Effect.provide(lm.layer))
      assert.strictEqual(lm.counters.calls, 12)
      // another module state is another key
      const instructed = Predict.make(QA, { instructions: "Answer tersely." })
      yield* Batch.run(instructed, questions(5), { cache, cacheNamespace: "m1" }).pipe(Effect.provide(lm.layer))
      assert.strictEqual(lm.counters.calls, 17)
    }))

  it.effect("a consumer that stops early interrupts the items in flight", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make((q) => Effect.as(Effect.sleep(Duration.millis(100 + Number(q.slice(1)) * 10)), ScriptedLm.reply({ answer: q })))
      const firstThree = Batch.stream(qa, questions(20), { concurrency: 4 }).pipe(Stream.take(3), Stream.runCollect)
      const outcomes = yield* drive(firstThree.pipe(Effect.provide(lm.layer)))
      assert.strictEqual(Chunk.size(outcomes), 3)
      assert.strictEqual(lm.counters.inFlight, 0)
      assert.isAtMost(lm.counters.calls, 3 + 4)
    }))

  it.effect("run hands over the same outcomes as stream, in the same completion order", () =>
    Effect.gen(function*() {
      // latencies that shuffle the completion order
      const lm = ScriptedLm.make((q) =>
        Effect.as(Effect.sleep(Duration.millis(50 + (Number(q.slice(1)) * 37 % 11) * 10)), ScriptedLm.reply({ answer: `a-${q}` }))
      )
      const viaStream = yield* drive(Stream.runCollect(Batch.stream(qa, questions(30), { concurrency: 4 })).pipe(Effect.provide(lm.layer)))
      const viaRun = yield* drive(Batch.run(qa, questions(30), { concurrency: 4 }).pipe(Effect.provide(lm.layer)))
      const order = Chunk.toReadonlyArray(viaStream).map((o) => o.index)
      assert.notDeepEqual(order, Array.from({ length: 30 }, (_, i) => i))
      assert.deepStrictEqual(viaRun.outcomes.map((o) => o.index), order)
      assert.deepStrictEqual(viaRun.outcomes, Chunk.toReadonlyArray(viaStream))
      assert.strictEqual(viaRun.summary.succeeded, 30)
    }))

  it.effect("an interrupted run stops its items in flight and counts them as not attempted", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make((q) => Effect.as(Effect.sleep(Duration.millis(100 + Number(q.slice(1)) * 10)), ScriptedLm.reply({ answer: q })))
      const recorder = yield* BatchMetrics.makeRecorder({ concurrency: 4 })
      const fiber = yield* Effect.fork(Batch.run(qa, questions(20), { concurrency: 4, recorder }).pipe(Effect.provide(lm.layer)))
      // the first four answer at 100-130 ms; the next four are in flight at 135 ms
      yield* TestClock.adjust("135 millis")
      yield* Fiber.interrupt(fiber)
      const stats = yield* recorder.stats
      assert.strictEqual(lm.counters.inFlight, 0)
      assert.strictEqual(lm.counters.completed, 4)
      assert.strictEqual(stats.inProgress, 0)
      assert.strictEqual(stats.succeeded, 4)
      // the four in flight: not attempted (a resumed file run tries them again)
      const summary = yield* recorder.summary
      assert.strictEqual(summary.notAttempted, 4)
      assert.strictEqual(summary.finished, 4)
    }))

  it.effect("an invalid input is a typed failure and the run goes on", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make((q) => ScriptedLm.reply({ answer: `a-${q}` }))
      const inputs = [{ question: "q0" }, { question: 42 } as unknown as { question: string }, { question: "q2" }]
      const { outcomes, summary } = yield* Batch.run(qa, inputs).pipe(Effect.provide(lm.layer))
      assert.strictEqual(outcomes.length, 3)
      assert.strictEqual(summary.failedByKind["InvalidInput"], 1)
      assert.strictEqual(lm.counters.calls, 2)
    }))
})

describe("rate limits", () => {
  it.effect("AIMD: 429s lower the concurrency limit, no item fails, and the limit recovers", () =>
    Effect.gen(function*() {
      // a server that serves 3 requests at once for its first 2 seconds, then 8
      let served = 0
      const lm = ScriptedLm.make((q) =>
        Effect.gen(function*() {
          const now = yield* TestClock.currentTimeMillis
          const capacity = now < 2000 ? 3 : 8
          if (served >= capacity) return yield* Effect.fail(ScriptedLm.httpError(429, { "retry-after-ms": "200" }))
          served++
          return yield* Effect.as(Effect.sleep("100 millis"), ScriptedLm.reply({ answer: q })).pipe(
            Effect.ensuring(Effect.sync(() => served--))
          )
        })
      )
      const program = Effect.gen(function*() {
        const rc = yield* RateControl.RateControl
        const { summary } = yield* Batch.run(qa, questions(300), { concurrency: 8 })
        return { summary, stats: yield* rc.stats }
      })
      // Resilience retries the 429s (each probe of the limit above the server's capacity costs one
      // refused attempt, which may fall on an item refused before: a few retries per item)
      const model = Resilience.layer({ policy: { maxRetries: 6, timeout: undefined } }).pipe(Layer.provide(lm.layer))
      const layers = Layer.provideMerge(model, RateControl.layer({ maxConcurrency: 8 }))
      const { stats, summary } = yield* drive(Effect.scoped(program.pipe(Effect.provide(layers))), "25 millis")
      assert.strictEqual(summary.failed, 0)
      assert.strictEqual(summary.succeeded, 300)
      assert.isAbove(summary.rateLimitHits, 0)
      assert.strictEqual(summary.rateLimitHits, stats.rateLimited)
      assert.isAtMost(stats.minLimit, 3)
      assert.isAtLeast(stats.decreases, 1)
      // recovered to the full concurrency once the server allowed it
      assert.strictEqual(stats.limit, 8)
      assert.strictEqual(summary.requests, stats.attempts)
      assert.strictEqual(summary.retries, stats.rateLimited)
    }))

  it.effect("a streamed call's 429: counted by the rate control, retried by Resilience after the server's reset", () =>
    Effect.gen(function*() {
      // the server refuses the first three requests, streamed or not, asking for 500 ms
      const lm = ScriptedLm.make((q, call) =>
        call <= 3 ? Effect.fail(ScriptedLm.httpError(429, { "retry-after-ms": "500" })) : ScriptedLm.reply({ answer: q })
      )
      const model = Resilience.layer({ policy: { maxRetries: 3, baseDelay: "10 millis", timeout: undefined } }).pipe(
        Layer.provide(lm.layer)
      )
      const layers = Layer.provideMerge(model, RateControl.layer({ maxConcurrency: 2 }))
      const program = Effect.gen(function*() {
        const rc = yield* RateControl.RateControl
        const parts = yield* Stream.runCollect(LanguageModel.streamText({ prompt: "hi" }))
        return { parts, stats: yield* rc.stats, at: yield* TestClock.currentTimeMillis }
      })
      const { at, parts, stats } = yield* drive(Effect.scoped(program.pipe(Effect.provide(layers))), "100 millis")
      assert.strictEqual(Chunk.size(parts), 1)
      assert.strictEqual(lm.counters.calls, 4)
      assert.strictEqual(stats.rateLimited, 3)
      assert.strictEqual(stats.attempts, 4)
      assert.strictEqual(stats.inFlight, 0)
      // a lone request refused: a rate limit, so the rate control cooled down, once per 429
      assert.strictEqual(stats.pauses, 3)
      // never retried before the server's reset
      assert.isAtLeast(at, 1500)
    }))

  it.effect("a stream refused after its first part is not sent again", () =>
    Effect.gen(function*() {
      let calls = 0
      const model = Resilience.layer({ policy: { maxRetries: 0, timeout: undefined } }).pipe(
        Layer.provide(Layer.effect(
          LanguageModel.LanguageModel,
          LanguageModel.make({
            generateText: () => Effect.fail(ScriptedLm.httpError(500)),
            streamText: () =>
              Stream.concat(
                Stream.sync(() => {
                  calls++
                  return { type: "text-delta" as const, id: "t", delta: "partial" }
                }),
                Stream.fail(ScriptedLm.httpError(429, { "retry-after-ms": "500" }))
              )
          })
        ))
      )
      const layers = Layer.provideMerge(model, RateControl.layer({ maxConcurrency: 2 }))
      const program = Effect.gen(function*() {
        const rc = yield* RateControl.RateControl
        const result = yield* Effect.either(Stream.runCollect(LanguageModel.streamText({ prompt: "hi" })))
        return { result, stats: yield* rc.stats }
      })
      const { result, stats } = yield* drive(Effect.scoped(program.pipe(Effect.provide(layers))), "100 millis")
      // the consumer has seen part of the answer: sending it again would repeat it
      assert.isTrue(result._tag === "Left")
      assert.strictEqual(calls, 1)
      assert.strictEqual(stats.attempts, 1)
      assert.strictEqual(stats.inFlight, 0)
    }))

  it.effect("requests per minute: a token bucket spaces the requests", () =>
    Effect.gen(function*() {
      const starts: Array<number> = []
      const lm = ScriptedLm.make(() =>
        Effect.map(TestClock.currentTimeMillis, (now) => {
          starts.push(now)
          return ScriptedLm.reply({ answer: "a" })
        })
      )
      const model = Resilience.layer({ policy: { maxRetries: 0 } }).pipe(Layer.provide(lm.layer))
      const layers = Layer.provideMerge(model, RateControl.layer({ maxConcurrency: 4, requestsPerMinute: 60 }))
      yield* drive(Effect.scoped(Batch.run(qa, questions(5), { concurrency: 4 }).pipe(Effect.provide(layers))), "100 millis")
      assert.deepStrictEqual(starts, [0, 1000, 2000, 3000, 4000])
    }))

  it.effect("tokens per minute: requests wait for the tokens the previous ones used", () =>
    Effect.gen(function*() {
      const starts: Array<number> = []
      const lm = ScriptedLm.make(() =>
        Effect.map(TestClock.currentTimeMillis, (now) => {
          starts.push(now)
          return ScriptedLm.reply({ answer: "a" })
        })
      )
      const model = Resilience.layer({ policy: { maxRetries: 0 } }).pipe(Layer.provide(lm.layer))
      // each call uses 15 tokens; 900 tokens a minute is 15 a second
      const layers = Layer.provideMerge(
        model,
        RateControl.layer({ maxConcurrency: 4, tokensPerMinute: 900, tokensPerRequest: 15 })
      )
      yield* drive(Effect.scoped(Batch.run(qa, questions(4), { concurrency: 4 }).pipe(Effect.provide(layers))), "100 millis")
      // (the bucket refills a token every 66.67 ms: the waits come to within a microsecond)
      assert.deepStrictEqual(starts.map(Math.round), [0, 1000, 2000, 3000])
    }))

  it.effect("the rate control never sends a request again: a 429 leaves withPermit as it came, counted", () =>
    Effect.scoped(Effect.gen(function*() {
      const rc = yield* RateControl.make({ maxConcurrency: 4 })
      let sent = 0
      const refused = Effect.suspend(() => {
        sent++
        return Effect.fail(ScriptedLm.httpError(429, { "retry-after-ms": "1000" }))
      })
      const result = yield* Effect.either(rc.withPermit(refused))
      assert.isTrue(result._tag === "Left")
      assert.strictEqual(sent, 1)
      const stats = yield* rc.stats
      assert.strictEqual(stats.attempts, 1)
      assert.strictEqual(stats.rateLimited, 1)
      assert.strictEqual(stats.inFlight, 0)
    })))

  it.effect("cool-down: a lone refused request pauses every new request until the server's reset; one among others only lowers the limit", () =>
    Effect.scoped(Effect.gen(function*() {
      const rc = yield* RateControl.make({ maxConcurrency: 4 })
      // refused while three others are in flight: a concurrency limit
      const blockers = yield* Effect.fork(Effect.all(Array.from({ length: 3 }, () => rc.withPermit(Effect.sleep("1 second"))), { concurrency: "unbounded" }))
      yield* TestClock.adjust("1 millis")
      yield* Effect.either(rc.withPermit(Effect.zipRight(rc.pauseFor(5_000), Effect.fail(ScriptedLm.httpError(429)))))
      let stats = yield* rc.stats
      assert.strictEqual(stats.pauses, 0)
      assert.strictEqual(stats.limit, 3)
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(blockers)
      // refused alone: a rate limit, everybody waits for the reset
      yield* Effect.either(rc.withPermit(Effect.zipRight(rc.pauseFor(5_000), Effect.fail(ScriptedLm.httpError(429)))))
      stats = yield* rc.stats
      assert.strictEqual(stats.pauses, 1)
      const next = yield* Effect.fork(rc.withPermit(TestClock.currentTimeMillis))
      yield* TestClock.adjust("4 seconds")
      assert.isTrue(Option.isNone(yield* Fiber.poll(next)))
      yield* TestClock.adjust("1 second")
      assert.isAtLeast(yield* Fiber.join(next), stats.pausedUntil)
    })))
})

describe("retry budget", () => {
  // a module that calls the model twice per item
  const twice: Module.Module<{ readonly question: string }, { readonly answer: string }, unknown, LanguageModel.LanguageModel> = Module
    .fromFunction(
      (input: { readonly question: string }) => Effect.flatMap(qa(input), () => qa(input)),
      { name: "twice", kind: "Predict", signature: undefined, predictors: [], withState: () => twice }
    )

  it.effect("retryBudget bounds the retries of one item across all its model calls; every retry is Resilience's", () =>
    Effect.gen(function*() {
      // the first call succeeds on its third attempt (two retries), every later attempt is a 503
      const lm = ScriptedLm.make((q, call) => (call === 3 ? ScriptedLm.reply({ answer: q }) : Effect.fail(ScriptedLm.httpError(503))))
      const model = Resilience.layer({ policy: { maxRetries: 8, baseDelay: "10 millis", timeout: undefined } }).pipe(
        Layer.provide(lm.layer)
      )
      const { outcomes, summary } = yield* drive(
        Batch.run(twice, questions(1), { concurrency: 1, retryBudget: { maxRetries: 3 } }).pipe(Effect.provide(model)),
        "100 millis"
      )
      // 3 attempts for the first call, then the budget's last retry: 2 attempts for the second
      assert.strictEqual(lm.counters.calls, 5)
      assert.strictEqual(outcomes[0]?._tag, "Failure")
      assert.strictEqual(summary.failed, 1)
    }))

  it.effect("each item has its own budget; without one, the policy alone decides", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make(() => Effect.fail(ScriptedLm.httpError(503)))
      const model = Resilience.layer({ policy: { maxRetries: 4, baseDelay: "10 millis", timeout: undefined } }).pipe(
        Layer.provide(lm.layer)
      )
      yield* drive(Batch.run(qa, questions(3), { concurrency: 3, retryBudget: { maxRetries: 1 } }).pipe(Effect.provide(model)), "100 millis")
      assert.strictEqual(lm.counters.calls, 3 * 2)
      lm.counters.calls = 0
      yield* drive(Batch.run(qa, questions(3), { concurrency: 3, dedupe: false }).pipe(Effect.provide(model)), "100 millis")
      assert.strictEqual(lm.counters.calls, 3 * 5)
    }))
})
