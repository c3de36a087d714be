/**
 * The stream idle timeout (`internal/idleTimeout.ts`): a wait for the next chunk longer than the
 * timeout fails the stream, the first wait included; time spent waiting on a slow reader does
 * not count; ending or failing passes through; a timed-out stream's source is interrupted.
 */
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Exit, Fiber, Stream, TestClock } from "effect"
import { idleTimeout } from "../src/internal/idleTimeout.js"

class TimedOut {
  readonly _tag = "TimedOut"
}

const timed = <A, E>(self: Stream.Stream<A, E>) => idleTimeout(self, "10 seconds", () => new TimedOut())

describe("idleTimeout", () => {
  it.effect("passes every element in order when each comes within the timeout", () =>
    Effect.gen(function*() {
      const paced = Stream.range(1, 5).pipe(Stream.tap(() => Effect.sleep("9 seconds")))
      const fiber = yield* Effect.fork(Stream.runCollect(timed(paced)))
      yield* TestClock.adjust("60 seconds")
      assert.deepStrictEqual(Chunk.toArray(yield* Fiber.join(fiber)), [1, 2, 3, 4, 5])
    }))

  it.effect("fails when the wait for the next element is longer than the timeout, and interrupts the source", () =>
    Effect.gen(function*() {
      let interrupted = false
      const stalls = Stream.concat(
        Stream.make(1, 2),
        Stream.fromEffect(Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(() => (interrupted = true)))))
      )
      const seen: Array<number> = []
      const fiber = yield* Effect.fork(Stream.runForEach(timed(stalls), (n) => Effect.sync(() => seen.push(n))))
      yield* TestClock.adjust("9 seconds")
      assert.isNull(fiber.unsafePoll())
      yield* TestClock.adjust("2 seconds")
      const exit = yield* Fiber.await(fiber)
      assert.deepStrictEqual(exit, Exit.fail(new TimedOut()))
      assert.deepStrictEqual(seen, [1, 2])
      assert.isTrue(interrupted)
    }))

  it.effect("the first wait counts", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(Stream.runCollect(timed(Stream.never)))
      yield* TestClock.adjust("11 seconds")
      const exit = yield* Fiber.await(fiber)
      assert.isTrue(Exit.isFailure(exit))
    }))

  it.effect("time spent on a slow reader is not a wait for the source", () =>
    Effect.gen(function*() {
      // the source is always ready; the reader takes 30 s per element
      const slowReader = Stream.runForEach(
        timed(Stream.range(1, 20).pipe(Stream.rechunk(1))),
        () => Effect.sleep("30 seconds")
      )
      const fiber = yield* Effect.fork(slowReader)
      yield* TestClock.adjust("601 seconds")
      const exit = yield* Fiber.await(fiber)
      assert.isTrue(Exit.isSuccess(exit))
    }))

  it.effect("a failure of the source passes through", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Stream.runCollect(timed(Stream.concat(Stream.make(1), Stream.fail("boom")))))
      assert.deepStrictEqual(exit, Exit.fail("boom"))
    }))
})
