/**
 * The retry policy on a scripted model, on `TestClock`: what is retried and when, budgets,
 * timeouts, streams, the limiter, and what the caller gets in the end.
 */
import { type DspyEvent, EventBus } from "@effect-dspy/core"
import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Chunk, Duration, Effect, Exit, Fiber, Layer, Option, ParseResult, Schema, Stream, TestClock } from "effect"
import * as Limiter from "../src/Limiter.js"
import * as LmError from "../src/LmError.js"
import * as Resilience from "../src/Resilience.js"
import { failureOf, valueOf } from "./utils/calls.js"
import * as Fake from "./utils/fakeModel.js"

const policy: Resilience.Policy = { maxRetries: 3, baseDelay: "1 second", factor: 2, maxDelay: "10 seconds", jitter: false, timeout: "30 seconds" }

const model = (outcomes: ReadonlyArray<Fake.Outcome>, p: Resilience.Policy = policy, limiter?: Limiter.Service) => {
  const fake = Fake.make(outcomes)
  return { fake, layer: Resilience.layer({ policy: p, provider: "fake/model", limiter }).pipe(Layer.provide(fake.layer)) }
}

// Runs an effect in the background while the TestClock moves far enough for every wait.
const withClock = <A, E>(effect: Effect.Effect<A, E>, advance: Duration.DurationInput = "30 minutes") =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    yield* TestClock.adjust(advance)
    return yield* Fiber.await(fiber)
  })

const gaps = (times: ReadonlyArray<number>) => times.slice(1).map((t, i) => t - times[i]!)
const generate = LanguageModel.generateText({ prompt: "x" })
const collect = Stream.runCollect(LanguageModel.streamText({ prompt: "x" }))

describe("Resilience: what is retried, and when", () => {
  it.effect("retryable failures back off exponentially, then the call succeeds", () =>
    Effect.gen(function*() {
      const { fake, layer } = model([Fake.fail(Fake.httpError(503)), Fake.fail(Fake.resetError()), Fake.fail(Fake.httpError(500)), Fake.ok("done")])
      const exit = yield* withClock(generate.pipe(Effect.provide(layer)))
      assert.strictEqual(valueOf(exit).text, "done")
      assert.deepStrictEqual(gaps(fake.attempts), [1000, 2000, 4000])
    }))

  it.effect("with jitter every wait lies in [b/2, b]", () =>
    Effect.gen(function*() {
      for (let run = 0; run < 20; run++) {
        const { fake, layer } = model([Fake.fail(Fake.httpError(503)), Fake.fail(Fake.httpError(503)), Fake.fail(Fake.httpError(503)), Fake.ok()], { ...policy, jitter: true })
        valueOf(yield* withClock(generate.pipe(Effect.provide(layer))))
        gaps(fake.attempts).forEach((gap, i) => {
          const b = 1000 * 2 ** i
          assert.isTrue(gap >= b / 2 && gap <= b, `retry ${i + 1}: ${gap} ms outside [${b / 2}, ${b}]`)
        })
      }
    }))

  it.effect("a failure that cannot succeed again is not retried, and says what it is", () =>
    Effect.gen(function*() {
      const { fake, layer } = model([Fake.fail(Fake.httpError(401, {}, { error: { message: "Incorrect API key provided" } }))])
      const exit = yield* withClock(generate.pipe(Effect.provide(layer)))
      const error = failureOf(exit)
      assert.strictEqual(error._tag, "Authentication")
      assert.include(error.message, "Incorrect API key provided")
      assert.strictEqual(fake.attempts.length, 1)
      // the LanguageModel contract: an AiError, whose cause is the classified error
      if (Exit.isFailure(exit)) {
        const raw = Option.getOrThrow(Cause.failureOption(exit.cause))
        assert.isTrue(AiError.isAiError(raw) && raw._tag === "UnknownError" && LmError.isLmError(raw.cause))
      }
    }))

  it.effect("a server's reset longer than the backoff is waited, never less", () =>
    Effect.gen(function*() {
      const { fake, layer } = model([Fake.fail(Fake.httpError(429, { "retry-after-ms": "7000" })), Fake.fail(Fake.httpError(429, { "x-ratelimit-reset-requests": "1.5s" })), Fake.ok()])
      valueOf(yield* withClock(generate.pipe(Effect.provide(layer))))
      assert.deepStrictEqual(gaps(fake.attempts), [7000, 2000])
    }))

  it.effect("a reset beyond the call's time budget fails at once, carrying the reset", () =>
    Effect.gen(function*() {
      const { fake, layer } = model([Fake.fail(Fake.httpError(429, { "x-ratelimit-reset-requests": "6m0s", "x-ratelimit-remaining-requests": "0" }))])
      const error = failureOf(yield* withClock(generate.pipe(Effect.provide(layer))))
      assert.strictEqual(error._tag, "RateLimited")
      if (error._tag === "RateLimited") {
        assert.strictEqual(error.retryAfterMillis, 360_000)
        assert.strictEqual(error.resetAtMillis, 360_000)
      }
      assert.strictEqual(fake.attempts.length, 1)
    }))

  it.effect("an attempt that hangs times out, and the timeout is retried", () =>
    Effect.gen(function*() {
      const { fake, layer } = model([Fake.hang, Fake.ok("late")])
      assert.strictEqual(valueOf(yield* withClock(generate.pipe(Effect.provide(layer)))).text, "late")
      assert.deepStrictEqual(gaps(fake.attempts), [31_000])
    }))

  it.effect("the framework's verdict on a well-formed reply passes through, with the reply's text, unretried", () =>
    Effect.gen(function*() {
      const { fake, layer } = model([Fake.ok("not json")])
      const exit = yield* withClock(
        LanguageModel.generateObject({ prompt: "x", schema: Schema.Struct({ a: Schema.String }) }).pipe(Effect.provide(layer))
      )
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) {
        const raw = Option.getOrThrow(Cause.failureOption(exit.cause))
        assert.isTrue(LmError.isOutputMismatch(raw))
        if (LmError.isOutputMismatch(raw)) assert.isTrue(ParseResult.isParseError(raw.cause) && raw.cause.issue.actual === "not json")
      }
      assert.strictEqual(fake.attempts.length, 1)
    }))

  it.effect("each retry is an lm.retry event and a count in effect_dspy_lm_retries_total", () =>
    Effect.gen(function*() {
      const events: Array<DspyEvent.DspyEvent> = []
      const { layer } = model([Fake.fail(Fake.httpError(503)), Fake.ok()])
      yield* withClock(Effect.scoped(Effect.gen(function*() {
        yield* EventBus.on("lm.retry", (event) => Effect.sync(() => events.push(event)))
        yield* generate
      })).pipe(Effect.provide(layer), Effect.provide(EventBus.layer)))
      assert.deepStrictEqual(events.map((e) => e.type === "lm.retry" ? [e.provider, e.model, e.attempt, e.errorTag, e.delayMillis] : []), [
        ["fake", "model", 2, "Overloaded", 1000]
      ])
    }))
})

describe("Resilience: retry budgets shared by the calls of one unit of work", () => {
  it.effect("retries taken by one call are gone for the next", () =>
    Effect.gen(function*() {
      const { fake, layer } = model([Fake.fail(Fake.httpError(503)), Fake.ok(), Fake.fail(Fake.httpError(503)), Fake.ok()])
      const item = Effect.zip(generate, Effect.either(generate)).pipe(Resilience.withRetryBudget({ maxRetries: 1 }))
      const [, second] = valueOf(yield* withClock(item.pipe(Effect.provide(layer))))
      assert.isTrue(second._tag === "Left")
      assert.strictEqual(fake.attempts.length, 3)
    }))

  it.effect("no retry starts after the budget's deadline", () =>
    Effect.gen(function*() {
      const { fake, layer } = model([Fake.fail(Fake.httpError(503))], { ...policy, baseDelay: "4 seconds" })
      const exit = yield* withClock(generate.pipe(Resilience.withRetryBudget({ maxElapsed: "10 seconds" }), Effect.provide(layer)))
      assert.strictEqual(failureOf(exit)._tag, "Overloaded")
      // 0 s, then 4 s; the next would start at 12 s
      assert.deepStrictEqual(fake.attempts, [0, 4000])
    }))
})

describe("Resilience: streams", () => {
  it.effect("a stream that fails before content is retried as if it never streamed", () =>
    Effect.gen(function*() {
      const { fake, layer } = model([Fake.fail(Fake.httpError(503)), Fake.ok("hello")])
      const parts = Chunk.toArray(valueOf(yield* withClock(collect.pipe(Effect.provide(layer)))))
      assert.deepStrictEqual(parts.map((p) => p.type), ["response-metadata", "text-start", "text-delta", "text-end", "finish"])
      assert.strictEqual(fake.attempts.length, 2)
    }))

  it.effect("a stream that fails after content fails with StreamFailed and the text so far, unretried", () =>
    Effect.gen(function*() {
      const { fake, layer } = model([Fake.partial("The capital of", Fake.resetError()), Fake.ok()])
      const error = failureOf(yield* withClock(collect.pipe(Effect.provide(layer))))
      assert.strictEqual(error._tag, "StreamFailed")
      if (error._tag === "StreamFailed") assert.deepStrictEqual([error.partialText, error.reason], ["The capital of", "ConnectionReset"])
      assert.strictEqual(fake.attempts.length, 1)
    }))

  it.effect("a stream's failures before content back off as a call's do, up to maxRetries, then the last error", () =>
    Effect.gen(function*() {
      const { fake, layer } = model([
        Fake.fail(Fake.httpError(503)),
        Fake.fail(Fake.resetError()),
        Fake.fail(Fake.httpError(500)),
        Fake.fail(Fake.httpError(502)),
        Fake.ok("never")
      ])
      const error = failureOf(yield* withClock(collect.pipe(Effect.provide(layer))))
      assert.deepStrictEqual(gaps(fake.attempts), [1000, 2000, 4000])
      assert.strictEqual(error._tag, "Overloaded")
      assert.strictEqual(error.status, 502)
    }))

  it.effect("each run of one stream value has its own retries and schedule", () =>
    Effect.gen(function*() {
      const { fake, layer } = model([Fake.fail(Fake.httpError(503)), Fake.ok("one"), Fake.fail(Fake.httpError(503)), Fake.ok("two")])
      const texts = yield* withClock(
        Effect.all([collect, collect]).pipe(
          Effect.map((runs) => runs.map((parts) => Chunk.toArray(parts).flatMap((p) => (p.type === "text-delta" ? [p.delta] : [])).join(""))),
          Effect.provide(layer)
        )
      )
      assert.deepStrictEqual(valueOf(texts), ["one", "two"])
      // each run waited its own first backoff (1 s), not the second (2 s)
      assert.deepStrictEqual(gaps(fake.attempts), [1000, 0, 1000])
    }))

  it.effect("a stream that waits longer than the timeout for its next part times out and is retried", () =>
    Effect.gen(function*() {
      const { fake, layer } = model([Fake.hang, Fake.ok()])
      valueOf(yield* withClock(collect.pipe(Effect.provide(layer))))
      assert.deepStrictEqual(gaps(fake.attempts), [31_000])
    }))
})

describe("Resilience: the limiter", () => {
  it.effect("a call sleeping before its retry holds no slot; a rate limit pauses the limiter until the reset", () =>
    Effect.gen(function*() {
      const limiter = yield* Limiter.make({ concurrency: 1 })
      const { layer } = model([Fake.fail(Fake.httpError(429, { "retry-after": "5" })), Fake.ok()], policy, limiter)
      const fiber = yield* Effect.fork(generate.pipe(Effect.provide(layer)))
      yield* TestClock.adjust("1 second")
      const during = yield* limiter.stats
      assert.strictEqual(during.inFlight, 0)
      assert.strictEqual(during.pausedUntil, 5000)
      yield* TestClock.adjust("10 seconds")
      valueOf(yield* Fiber.await(fiber))
      const after = yield* limiter.stats
      assert.deepStrictEqual([after.inFlight, after.maxInFlight, after.pauses], [0, 1, 1])
    }))

  it.effect("streams hold their slot for their life", () =>
    Effect.gen(function*() {
      const limiter = yield* Limiter.make({ concurrency: 2 })
      const { layer } = model([Fake.ok()], policy, limiter)
      yield* withClock(Effect.all([collect, collect, collect], { concurrency: "unbounded" }).pipe(Effect.provide(layer)))
      const stats = yield* limiter.stats
      assert.deepStrictEqual([stats.inFlight, stats.maxInFlight], [0, 2])
    }))
})
