import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import * as Limiter from "../src/Limiter.js"

// The permits' scope, also closed when the test ends (a failed assertion must not leave a
// waiter blocked on a permit that is never released).
const holderScope = Effect.acquireRelease(Scope.make(), (scope) => Scope.close(scope, Exit.void))

describe("Limiter", () => {
  it.effect("permitScoped holds its permit until the scope closes", () =>
    Effect.gen(function*() {
      const limiter = yield* Limiter.make({ concurrency: 1 })
      const scope = yield* Scope.make()
      yield* Scope.extend(limiter.permitScoped, scope)
      assert.strictEqual((yield* limiter.stats).inFlight, 1)
      const second = yield* Effect.fork(Effect.scoped(limiter.permitScoped))
      yield* TestClock.adjust("1 second")
      assert.isNull(second.unsafePoll(), "the second holder waits while the first holds the only permit")
      yield* Scope.close(scope, Exit.void)
      yield* Fiber.join(second)
      const stats = yield* limiter.stats
      assert.strictEqual(stats.inFlight, 0)
      assert.strictEqual(stats.maxInFlight, 1)
    }))

  it.scoped("a holder interrupted while waiting for a permit stops at once and takes none", () =>
    Effect.gen(function*() {
      const limiter = yield* Limiter.make({ concurrency: 1 })
      const scope = yield* holderScope
      yield* Scope.extend(limiter.permitScoped, scope)
      let got = 0
      const waiter = yield* Effect.fork(Effect.scoped(Effect.zipRight(limiter.permitScoped, Effect.sync(() => got++))))
      yield* TestClock.adjust("1 second")
      // Interrupting the waiter must not wait for the permit the first holder still has.
      yield* Fiber.interruptFork(waiter)
      yield* TestClock.adjust("1 second")
      const exit = waiter.unsafePoll()
      assert.isTrue(exit !== null && Exit.isInterrupted(exit), "the waiter stopped while the permit was still held")
      assert.strictEqual(got, 0)
      assert.strictEqual((yield* limiter.stats).inFlight, 1)
      // The slot the waiter never took is not lost: after the first release a new holder gets it.
      yield* Scope.close(scope, Exit.void)
      yield* Effect.scoped(Effect.zipRight(limiter.permitScoped, Effect.sync(() => got++)))
      assert.strictEqual(got, 1)
      assert.strictEqual((yield* limiter.stats).inFlight, 0)
    }))

  it.scoped("a stream interrupted while waiting for a permit stops before any permit is free", () =>
    Effect.gen(function*() {
      const limiter = yield* Limiter.make({ concurrency: 2 })
      const scope = yield* holderScope
      yield* Scope.extend(limiter.permitScoped, scope)
      yield* Scope.extend(limiter.permitScoped, scope)
      const waiters = yield* Effect.forEach(
        [1, 2, 3],
        () => Effect.fork(Effect.scoped(limiter.permitScoped)),
        { concurrency: "unbounded" }
      )
      yield* TestClock.adjust("1 second")
      for (const w of waiters) yield* Fiber.interruptFork(w)
      yield* TestClock.adjust("1 second")
      for (const w of waiters) {
        const exit = w.unsafePoll()
        assert.isTrue(exit !== null && Exit.isInterrupted(exit), "every waiter stopped while both permits were held")
      }
      yield* Scope.close(scope, Exit.void)
      assert.deepStrictEqual(yield* limiter.stats, { inFlight: 0, maxInFlight: 2, pausedUntil: 0, pauses: 0 })
    }))
})
