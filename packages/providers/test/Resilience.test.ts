import { type DspyEvent, EventBus } from "@effect-dspy/core"
import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Response from "@effect/ai/Response"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Deferred, Duration, Effect, Exit, FastCheck, Fiber, Layer, Metric, ScheduleDecision, Stream, TestClock } from "effect"
import * as Limiter from "../src/Limiter.js"
import * as LmError from "../src/LmError.js"
import * as Resilience from "../src/Resilience.js"
import { fail, hang, httpError, makeFakeModel, ok, type Outcome, resetError, streamOf } from "./utils/fakeModel.js"

const policy: Resilience.Policy = {
  maxRetries: 4,
  baseDelay: "1 second",
  factor: 2,
  maxDelay: "10 seconds",
  maxElapsed: "5 minutes",
  timeout: "30 seconds"
}

const withPolicy = (outcomes: ReadonlyArray<Outcome>, p: Resilience.Policy = policy, limiter?: Limiter.Service) => {
  const fake = makeFakeModel(outcomes)
  const layer = Resilience.layer({ policy: p, provider: "fake/model", limiter }).pipe(Layer.provide(fake.layer))
  return { fake, layer }
}

// Runs an effect in the background and moves the TestClock far enough for every retry.
const runWithClock = <A, E>(effect: Effect.Effect<A, E>, advance: Duration.DurationInput = "30 minutes") =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    yield* TestClock.adjust(advance)
    return yield* Fiber.await(fiber)
  })

const gaps = (times: ReadonlyArray<number>) => times.slice(1).map((t, i) => t - times[i]!)

describe("Resilience", () => {
  it.effect("retries retryable failures with exponential backoff and jitter, then succeeds", () =>
    Effect.gen(function*() {
      const { fake, layer } = withPolicy([fail(httpError(503)), fail(resetError()), fail(httpError(500)), ok("done")])
      const exit = yield* runWithClock(LanguageModel.generateText({ prompt: "x" }).pipe(Effect.provide(layer)))
      assert(Exit.isSuccess(exit))
      assert.strictEqual(exit.value.text, "done")
      assert.strictEqual(fake.attempts.length, 4)
      const [g1, g2, g3] = gaps(fake.attempts)
      // equal jitter: retry k waits in [b/2, b] with b = 1 s * 2^(k-1)
      assert(g1! >= 500 && g1! <= 1000, `gap 1 = ${g1}`)
      assert(g2! >= 1000 && g2! <= 2000, `gap 2 = ${g2}`)
      assert(g3! >= 2000 && g3! <= 4000, `gap 3 = ${g3}`)
    }))

  it.effect("honours the server's Retry-After when it asks for longer than the backoff", () =>
    Effect.gen(function*() {
      const { fake, layer } = withPolicy([
        fail(httpError(429, { "retry-after": "7" })),
        fail(httpError(429, { "retry-after-ms": "250" })),
        ok()
      ])
      const exit = yield* runWithClock(LanguageModel.generateText({ prompt: "x" }).pipe(Effect.provide(layer)))
      assert(Exit.isSuccess(exit))
      const [g1, g2] = gaps(fake.attempts)
      assert.strictEqual(g1, 7000)
      // 250 ms is shorter than the backoff (1-2 s): the backoff wins
      assert(g2! >= 1000 && g2! <= 2000, `gap 2 = ${g2}`)
    }))

  it.effect("does not retry what cannot succeed", () =>
    Effect.gen(function*() {
      const cases = [
        { error: httpError(401, {}, "{\"error\":{\"message\":\"bad key\"}}"), tag: "Authentication" },
        { error: httpError(400, {}, "{\"error\":{\"message\":\"maximum context length exceeded\"}}"), tag: "ContextLengthExceeded" },
        { error: httpError(422), tag: "BadRequest" }
      ] as const
      for (const { error, tag } of cases) {
        const { fake, layer } = withPolicy([fail(error), ok()])
        const exit = yield* runWithClock(LanguageModel.generateText({ prompt: "x" }).pipe(Effect.provide(layer)))
        assert(Exit.isFailure(exit))
        assert.strictEqual(fake.attempts.length, 1, tag)
        const failure = yield* Effect.flip(exit)
        assert.strictEqual(LmError.classify(failure)._tag, tag)
      }
    }))

  it.effect("caps the number of attempts and reports the last classified failure", () =>
    Effect.gen(function*() {
      const retries = Metric.tagged(Resilience.retriesTotal, "error", "Overloaded")
      const failures = Metric.tagged(Resilience.failedAttemptsTotal, "error", "Overloaded")
      const before = [(yield* Metric.value(retries)).count, (yield* Metric.value(failures)).count]
      const { fake, layer } = withPolicy([fail(httpError(529))])
      const exit = yield* runWithClock(LanguageModel.generateText({ prompt: "x" }).pipe(Effect.provide(layer)))
      assert(Exit.isFailure(exit))
      assert.strictEqual(fake.attempts.length, 5)
      // 5 failed attempts, 4 retries (the last failure is a give-up, not a retry)
      assert.strictEqual((yield* Metric.value(retries)).count - before[0]!, 4)
      assert.strictEqual((yield* Metric.value(failures)).count - before[1]!, 5)
      const error = yield* Effect.flip(exit)
      assert.strictEqual(error._tag, "UnknownError")
      const classified = LmError.classify(error)
      assert.strictEqual(classified._tag, "Overloaded")
      assert.strictEqual(classified.status, 529)
    }))

  it.scoped("publishes each retry as an lm.retry event on the EventBus", () =>
    Effect.gen(function*() {
      const events: Array<DspyEvent.DspyEvent> = []
      yield* EventBus.on("lm.*", (event) => Effect.sync(() => events.push(event)))
      const { layer } = withPolicy([fail(httpError(503)), fail(httpError(429, { "retry-after": "7" })), ok()])
      const exit = yield* runWithClock(LanguageModel.generateText({ prompt: "x" }).pipe(Effect.provide(layer)))
      assert(Exit.isSuccess(exit))
      yield* TestClock.adjust("1 second")
      const retries = events.filter((e) => e.type === "lm.retry")
      assert.deepStrictEqual(
        retries.map((e) => e.type === "lm.retry" ? [e.provider, e.model, e.attempt, e.errorTag] : []),
        [["fake", "model", 2, "Overloaded"], ["fake", "model", 3, "RateLimited"]]
      )
      assert.strictEqual(retries[1]?.type === "lm.retry" ? retries[1].delayMillis : 0, 7000)
    }).pipe(Effect.provide(EventBus.layer)))

  it.effect("caps the total elapsed time: gives up when the next attempt would start too late", () =>
    Effect.gen(function*() {
      const { fake, layer } = withPolicy([fail(httpError(429, { "retry-after": "120" })), ok()], {
        ...policy,
        maxElapsed: "60 seconds"
      })
      const exit = yield* runWithClock(LanguageModel.generateText({ prompt: "x" }).pipe(Effect.provide(layer)))
      assert(Exit.isFailure(exit))
      assert.strictEqual(fake.attempts.length, 1)
      const classified = LmError.classify(yield* Effect.flip(exit))
      assert(classified._tag === "RateLimited")
      assert.strictEqual(classified.retryAfterMillis, 120_000)
    }))

  it.effect("times out a hanging attempt with a typed Timeout, and retries it", () =>
    Effect.gen(function*() {
      const { fake, layer } = withPolicy([hang, ok("late")], { ...policy, timeout: "10 seconds" })
      const exit = yield* runWithClock(LanguageModel.generateText({ prompt: "x" }).pipe(Effect.provide(layer)))
      assert(Exit.isSuccess(exit))
      assert.strictEqual(fake.attempts.length, 2)
      assert(fake.attempts[1]! - fake.attempts[0]! >= 10_000)
    }))

  it.effect("a timeout with retries disabled fails with Timeout", () =>
    Effect.gen(function*() {
      const { fake, layer } = withPolicy([hang], { ...Resilience.noRetry, timeout: "2 seconds" })
      const exit = yield* runWithClock(LanguageModel.generateText({ prompt: "x" }).pipe(Effect.provide(layer)))
      const classified = LmError.classify(yield* Effect.flip(exit))
      assert(classified._tag === "Timeout")
      assert.strictEqual(classified.afterMillis, 2000)
      assert.strictEqual(classified.provider, "fake/model")
      assert.strictEqual(fake.attempts.length, 1)
    }))

  it.effect("Duration.infinity (or Infinity) disables the timeout: a hanging attempt stays in flight", () =>
    Effect.gen(function*() {
      for (const timeout of [Duration.infinity, Infinity]) {
        const { fake, layer } = withPolicy([hang], { ...Resilience.noRetry, timeout })
        const fiber = yield* Effect.fork(LanguageModel.generateText({ prompt: "x" }).pipe(Effect.provide(layer)))
        yield* TestClock.adjust("1 day")
        assert.isNull(fiber.unsafePoll(), "the attempt ended")
        assert.strictEqual(fake.attempts.length, 1)
        yield* Fiber.interrupt(fiber)
      }
    }))

  // The live clock takes the timer path (no TestClock): a short real timeout.
  it.live("on the live clock, a hanging attempt times out as Timeout and is retried in a fresh attempt", () =>
    Effect.gen(function*() {
      const { fake, layer } = withPolicy([hang, ok("late")], { ...policy, baseDelay: "1 millis", timeout: "50 millis" })
      const response = yield* LanguageModel.generateText({ prompt: "x" }).pipe(Effect.provide(layer))
      assert.strictEqual(response.text, "late")
      assert.strictEqual(fake.attempts.length, 2)
    }))

  it.live("on the live clock, a timeout with retries disabled fails with Timeout", () =>
    Effect.gen(function*() {
      const { fake, layer } = withPolicy([hang], { ...Resilience.noRetry, timeout: "50 millis" })
      const error = yield* LanguageModel.generateText({ prompt: "x" }).pipe(Effect.provide(layer), Effect.flip)
      const classified = LmError.classify(error)
      assert(classified._tag === "Timeout")
      assert.strictEqual(classified.afterMillis, 50)
      assert.strictEqual(fake.attempts.length, 1)
    }))

  // A stream of a provider without its own deadline runs in a fiber feeding a bounded buffer: a
  // consumer that falls behind fills it, and the wait that follows is the consumer's.
  it.live("on the live clock, a consumer slower than the deadline does not time out a stream that keeps up", () =>
    Effect.gen(function*() {
      const deltas = Array.from({ length: 600 }, (): Response.StreamPartEncoded => ({ type: "text-delta", id: "t", delta: "x" }))
      const parts: Array<Response.StreamPartEncoded> = [
        { type: "response-metadata", id: "r" },
        { type: "text-start", id: "t" },
        ...deltas,
        { type: "text-end", id: "t" },
        { type: "finish", reason: "stop", usage: { inputTokens: 1, outputTokens: 600, totalTokens: 601 } }
      ]
      const service = yield* LanguageModel.make({
        generateText: () => Effect.die("not used"),
        streamText: () => Stream.rechunk(Stream.fromIterable(parts), 1)
      })
      // A deadline far above an event-loop stall on a loaded machine.
      const model = Resilience.make(service, { policy: { ...Resilience.noRetry, timeout: "300 millis" }, provider: "fake/model" })
      let pulls = 0
      let text = ""
      yield* model.streamText({ prompt: "x" }).pipe(
        Stream.runForEachChunk((chunk) =>
          Effect.suspend(() => {
            for (const part of chunk) if (part.type === "text-delta") text += part.delta
            // Once, early, the consumer takes three times the deadline.
            return pulls++ === 1 ? Effect.sleep("900 millis") : Effect.void
          })
        )
      )
      assert.strictEqual(text.length, 600)
    }))

  it.live("on the live clock, interrupting the caller interrupts the attempt in flight", () =>
    Effect.gen(function*() {
      const started = yield* Deferred.make<void>()
      const interrupted = yield* Deferred.make<void>()
      const model = Resilience.make(
        {
          generateText: () =>
            Effect.zipRight(Deferred.succeed(started, undefined), Effect.never).pipe(
              Effect.onInterrupt(() => Deferred.succeed(interrupted, undefined))
            ),
          generateObject: () => Effect.never,
          streamText: () => Stream.never
        },
        { policy: { timeout: "1 hour" } }
      )
      const fiber = yield* Effect.fork(model.generateText({ prompt: "x" }))
      yield* Deferred.await(started)
      yield* Fiber.interrupt(fiber)
      // Fiber.interrupt returned, so the attempt's finalizers already ran.
      assert.isTrue(yield* Deferred.isDone(interrupted))
    }))

  it.effect("a stream failing before its first token is retried like any call", () =>
    Effect.gen(function*() {
      const { fake, layer } = withPolicy([fail(httpError(503)), streamOf(["Hel", "lo"])])
      const exit = yield* runWithClock(
        LanguageModel.streamText({ prompt: "x" }).pipe(Stream.runCollect, Effect.map(Chunk.toArray), Effect.provide(layer))
      )
      assert(Exit.isSuccess(exit))
      assert.strictEqual(fake.attempts.length, 2)
      const types = exit.value.map((p) => p.type)
      // the failed attempt's metadata was held back and never reached the consumer
      assert.deepStrictEqual(types, ["response-metadata", "text-start", "text-delta", "text-delta", "text-end", "finish"])
    }))

  it.effect("a stream failing mid-answer surfaces StreamFailed with the text so far, without retry", () =>
    Effect.gen(function*() {
      const { fake, layer } = withPolicy([streamOf(["The answer ", "is"], resetError()), ok()])
      const received: Array<string> = []
      const exit = yield* runWithClock(
        LanguageModel.streamText({ prompt: "x" }).pipe(
          Stream.runForEach((part) => Effect.sync(() => part.type === "text-delta" && received.push(part.delta))),
          Effect.provide(layer)
        )
      )
      assert(Exit.isFailure(exit))
      assert.strictEqual(fake.attempts.length, 1)
      const classified = LmError.classify(yield* Effect.flip(exit))
      assert(classified._tag === "StreamFailed")
      assert.strictEqual(classified.partialText, "The answer is")
      assert.strictEqual(classified.reason, "ConnectionReset")
      assert.strictEqual(received.join(""), "The answer is")
    }))

  it.effect("a streamed attempt that stalls times out and is retried", () =>
    Effect.gen(function*() {
      const { fake, layer } = withPolicy([hang, streamOf(["ok"])], { ...policy, timeout: "5 seconds" })
      const exit = yield* runWithClock(
        LanguageModel.streamText({ prompt: "x" }).pipe(Stream.runCollect, Effect.provide(layer))
      )
      assert(Exit.isSuccess(exit))
      assert.strictEqual(fake.attempts.length, 2)
    }))

  it.effect("a call sleeping before its retry does not hold its limiter slot", () =>
    Effect.gen(function*() {
      const limiter = yield* Limiter.make({ concurrency: 1 })
      // first call: 503 then ok; second call: ok immediately
      const { fake, layer } = withPolicy([fail(httpError(503)), ok("b"), ok("a")], policy, limiter)
      const program = Effect.gen(function*() {
        const model = yield* LanguageModel.LanguageModel
        const a = yield* Effect.fork(model.generateText({ prompt: "a" }))
        yield* Effect.yieldNow()
        const b = yield* Effect.fork(model.generateText({ prompt: "b" }))
        yield* TestClock.adjust("1 minute")
        return [yield* Fiber.join(a), yield* Fiber.join(b)] as const
      }).pipe(Effect.provide(layer))
      const [a, b] = yield* program
      assert.strictEqual(fake.attempts.length, 3)
      // the second call ran during the first call's backoff (at t = 0), before its retry
      assert.strictEqual(fake.attempts[1], 0)
      assert(fake.attempts[2]! >= 500)
      assert.strictEqual(b.text, "b")
      assert.strictEqual(a.text, "a")
      const stats = yield* limiter.stats
      assert.strictEqual(stats.maxInFlight, 1)
      assert.strictEqual(stats.inFlight, 0)
    }))

  it.effect("a 429 with Retry-After pauses the shared limiter for every call", () =>
    Effect.gen(function*() {
      const limiter = yield* Limiter.make({ concurrency: 4 })
      const { fake, layer } = withPolicy([fail(httpError(429, { "retry-after": "3" })), ok(), ok()], policy, limiter)
      const program = Effect.gen(function*() {
        const model = yield* LanguageModel.LanguageModel
        const a = yield* Effect.fork(model.generateText({ prompt: "a" }))
        yield* Effect.yieldNow()
        yield* TestClock.adjust("1 second")
        const b = yield* Effect.fork(model.generateText({ prompt: "b" }))
        yield* TestClock.adjust("1 minute")
        yield* Fiber.join(a)
        yield* Fiber.join(b)
      }).pipe(Effect.provide(layer))
      yield* program
      assert.strictEqual(fake.attempts.length, 3)
      // b arrived at t = 1 s but waited for the pause to end at t = 3 s
      assert.deepStrictEqual(fake.attempts.slice(1), [3000, 3000])
      assert.strictEqual((yield* limiter.stats).pauses, 1)
    }))

  it.effect.prop(
    "every retry delay is within [b/2, b] of the capped backoff, or the server's longer wait",
    {
      base: FastCheck.integer({ min: 1, max: 5000 }),
      factor: FastCheck.double({ min: 1, max: 4, noNaN: true }),
      retry: FastCheck.integer({ min: 1, max: 8 }),
      retryAfter: FastCheck.option(FastCheck.integer({ min: 0, max: 600_000 }), { nil: undefined })
    },
    ({ base, factor, retry, retryAfter }) =>
      Effect.gen(function*() {
        const p: Resilience.Policy = {
          maxRetries: 10,
          baseDelay: base,
          factor,
          maxDelay: "30 seconds",
          maxElapsed: "1 hour"
        }
        const error = new LmError.RateLimited({
          provider: "p",
          description: "d",
          ...(retryAfter === undefined ? {} : { retryAfterMillis: retryAfter })
        })
        // step the schedule directly (a driver would sleep on the TestClock)
        const schedule = Resilience.schedule(p, 0)
        let state = schedule.initial
        let step: Resilience.RetryStep | undefined
        for (let i = 0; i < retry; i++) {
          const [next, out, decision] = yield* schedule.step(0, error, state)
          assert(ScheduleDecision.isContinue(decision))
          state = next
          step = out
        }
        const b = Resilience.backoffMillis(p, retry)
        const delay = step!.delayMillis
        assert.strictEqual(step!.retry, retry)
        assert.isTrue(step!.retrying)
        if (retryAfter !== undefined && retryAfter > b) assert.strictEqual(delay, retryAfter)
        else assert(delay >= Math.floor(b / 2) && delay <= Math.ceil(Math.max(b, retryAfter ?? 0)), `${delay} vs ${b}`)
      })
  )
})
