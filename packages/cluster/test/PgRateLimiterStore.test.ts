/**
 * The PostgreSQL `RateLimiterStore` against a real server: several pools (as several processes)
 * consume at once and every grant is counted exactly once; buckets refill on the database's
 * clock; a fixed window refuses beyond its limit; refunds never overfill a bucket.
 */
import * as RateLimiter from "@effect/experimental/RateLimiter"
import { assert, describe, layer } from "@effect/vitest"
import { Clock, Context, Duration, Effect, Either, Layer } from "effect"
import * as PgRateLimiterStore from "../src/PgRateLimiterStore.js"
import * as Pg from "./utils/postgres.js"

/** A store on its own connection pool, as a separate process would have. */
const storeOn = (url: string) =>
  Effect.map(
    Layer.build(PgRateLimiterStore.layer().pipe(Layer.provide(Pg.client(url)))),
    Context.get(RateLimiter.RateLimiterStore)
  )

/** Waits on the real clock: the store keeps time on the database's clock. */
const liveSleep = (duration: Duration.DurationInput) => Effect.withClock(Effect.sleep(duration), Clock.make())

/** `@effect/experimental`'s `RateLimiter` over the store. */
const limiterOn = (url: string) =>
  Effect.map(
    Layer.build(RateLimiter.layer.pipe(Layer.provide(PgRateLimiterStore.layer()), Layer.provide(Pg.client(url)))),
    Context.get(RateLimiter.RateLimiter)
  )

describe.skipIf(!Pg.available)("PgRateLimiterStore", () => {
  layer(Pg.layer, { timeout: 60_000 })((it) => {
    it.scoped("token bucket: concurrent takes from three pools each get a distinct count (atomic)", () =>
      Effect.gen(function*() {
        const url = yield* Pg.freshDatabase
        const stores = yield* Effect.all([storeOn(url), storeOn(url), storeOn(url)])
        // an hour per token: no refill during the test
        const take = (i: number) =>
          stores[i % 3]!.tokenBucket({ key: "k", tokens: 1, limit: 10, refillRate: Duration.hours(1), allowOverflow: true })
        const remaining = yield* Effect.forEach(Array.from({ length: 30 }, (_, i) => i), take, { concurrency: 30 })
        assert.deepStrictEqual([...remaining].sort((a, b) => b - a), Array.from({ length: 30 }, (_, i) => 9 - i))
      }))

    it.scoped("token bucket without overflow: a refused take is not stored", () =>
      Effect.gen(function*() {
        const store = yield* storeOn(yield* Pg.freshDatabase)
        const take = (tokens: number) =>
          store.tokenBucket({ key: "k", tokens, limit: 3, refillRate: Duration.hours(1), allowOverflow: false })
        assert.strictEqual(yield* take(2), 1)
        assert.strictEqual(yield* take(2), -1)
        // the refused take left the single token in place
        assert.strictEqual(yield* take(1), 0)
        assert.strictEqual(yield* take(1), -1)
      }))

    it.scoped("token bucket: refills one token per interval up to the limit; a refund never overfills it", () =>
      Effect.gen(function*() {
        const store = yield* storeOn(yield* Pg.freshDatabase)
        const take = (tokens: number) =>
          store.tokenBucket({ key: "k", tokens, limit: 2, refillRate: Duration.millis(100), allowOverflow: true })
        assert.strictEqual(yield* take(2), 0)
        yield* liveSleep("350 millis")
        // three intervals passed, but the bucket holds at most 2
        assert.strictEqual(yield* take(1), 1)
        // a refund of 5 tokens stops at the limit
        assert.strictEqual(yield* take(-5), 2)
      }))

    it.scoped("RateLimiter in delay mode over the store: the k-th call over the limit waits k intervals", () =>
      Effect.gen(function*() {
        const url = yield* Pg.freshDatabase
        const limiter = yield* limiterOn(url)
        const delays = yield* Effect.forEach(
          Array.from({ length: 6 }, () => 0),
          () =>
            limiter.consume({ key: "rpm", limit: 2, window: "1 hour", algorithm: "token-bucket", onExceeded: "delay" }),
          { concurrency: 1 }
        )
        assert.deepStrictEqual(delays.map((d) => Math.round(Duration.toMinutes(d.delay))), [0, 0, 30, 60, 90, 120])
      }))

    it.scoped("fixed window: refuses beyond the limit until the window expires", () =>
      Effect.gen(function*() {
        const url = yield* Pg.freshDatabase
        const limiter = yield* limiterOn(url)
        const consume = limiter.consume({ key: "w", limit: 3, window: "300 millis", algorithm: "fixed-window", onExceeded: "fail" })
        for (let i = 0; i < 3; i++) assert.isTrue(Either.isRight(yield* Effect.either(consume)))
        const refused = yield* Effect.either(consume)
        assert.isTrue(Either.isLeft(refused))
        if (Either.isLeft(refused) && refused.left.reason === "Exceeded") {
          assert.isAbove(Duration.toMillis(refused.left.retryAfter), 0)
          assert.isAtMost(Duration.toMillis(refused.left.retryAfter), 300)
        }
        yield* liveSleep("350 millis")
        assert.isTrue(Either.isRight(yield* Effect.either(consume)))
      }))
  })
})
