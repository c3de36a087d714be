/**
 * The global limiter around three processes' rate controls sharing one store (here the memory
 * store, on the test clock; the PostgreSQL store has its own tests): requests start at the
 * shared rate whatever process sends them, and tokens are charged by estimate, then settled.
 */
import * as RateControl from "@effect-dspy/batch/RateControl"
import * as RateLimiter from "@effect/experimental/RateLimiter"
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Fiber, Layer, TestClock } from "effect"
import * as GlobalLimiter from "../src/GlobalLimiter.js"

const shared = RateLimiter.layer.pipe(Layer.provide(RateLimiter.layerStoreMemory))

describe("GlobalLimiter", () => {
  it.scoped("600 rpm across three processes: a second's burst of 10, then one request every 100 ms", () =>
    Effect.gen(function*() {
      const limiters = yield* Effect.forEach([1, 2, 3], () =>
        Effect.flatMap(RateControl.make({ maxConcurrency: 20 }), (local) =>
          GlobalLimiter.make({ local, requestsPerMinute: 600, key: "acct" })))
      const starts: Array<number> = []
      const request = (i: number) =>
        limiters[i % 3]!.withPermit(Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => void starts.push(now))))
      const fiber = yield* Effect.fork(Effect.forEach(Array.from({ length: 30 }, (_, i) => i), request, { concurrency: "unbounded" }))
      yield* TestClock.adjust("5 seconds")
      yield* Fiber.join(fiber)
      starts.sort((a, b) => a - b)
      assert.strictEqual(starts.filter((t) => t === 0).length, 10)
      // the k-th request after the burst starts at k * 100 ms
      assert.deepStrictEqual(starts.slice(10), Array.from({ length: 20 }, (_, k) => (k + 1) * 100))
    }).pipe(Effect.provide(shared)))

  it.scoped("tokens per minute: a reply's tokens beyond the estimate delay the next request", () =>
    Effect.gen(function*() {
      const local = yield* RateControl.make({ maxConcurrency: 4 })
      // 6000 tokens a minute: 100 a second; the estimate starts at 100 tokens
      const limiter = yield* GlobalLimiter.make({ local, tokensPerMinute: 6000, key: "acct", tokensPerRequest: 100 })
      const reply = (totalTokens: number) => limiter.withPermit(Effect.succeed({ usage: { totalTokens } }))
      // 300 tokens for an estimate of 100: 200 more are charged
      yield* reply(300)
      const fiber = yield* Effect.fork(Effect.zipRight(reply(100), Clock.currentTimeMillis))
      yield* TestClock.adjust("10 seconds")
      const startedAt = yield* Fiber.join(fiber)
      // 100 (burst) - 100 - 200 - next estimate (140) = -340 tokens: 3.4 s at 100 tokens a second
      assert.strictEqual(startedAt, 3400)
    }).pipe(Effect.provide(shared)))

  it.scoped("without global limits it is the local rate control itself", () =>
    Effect.gen(function*() {
      const local = yield* RateControl.make({ maxConcurrency: 2 })
      const limiter = yield* GlobalLimiter.make({ local, key: "acct" })
      assert.strictEqual(limiter, local)
    }).pipe(Effect.provide(shared)))
})
