import { assert, describe, it } from "@effect/vitest"
import { Cause, Clock, Effect, Exit, Fiber, TestClock } from "effect"
import { makePoller, POLL_WINDOW_MILLIS, sleepUntil } from "../src/internal/sleepUntil.js"

// A few turns of the event loop, so that polling gets its chances.
const turns = Effect.promise(async () => {
  for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve))
})

const nanos = (millis: number) => BigInt(Math.round(millis * 1e6))

describe("sleepUntil", () => {
  it.effect("wakes exactly at the deadline, not a microsecond before, through the timer and the polling", () =>
    Effect.gen(function*() {
      const start = yield* Clock.currentTimeNanos
      const deadline = start + nanos(1000)
      const clock = yield* Effect.clock
      const due: Array<bigint> = []
      const fiber = yield* Effect.fork(
        Effect.zipRight(sleepUntil(deadline, () => due.push(clock.unsafeCurrentTimeNanos())), Clock.currentTimeNanos)
      )
      // past the timer's part: it polls now
      yield* TestClock.adjust(1000 - POLL_WINDOW_MILLIS / 2)
      yield* turns
      assert.isNull(fiber.unsafePoll(), "woke inside the polling window")
      yield* TestClock.setTime(Number(deadline) / 1e6 - 0.001)
      yield* turns
      assert.isNull(fiber.unsafePoll(), "woke a microsecond early")
      assert.deepStrictEqual(due, [])
      yield* TestClock.setTime(Number(deadline) / 1e6)
      const woke = yield* Fiber.join(fiber)
      assert.strictEqual(woke, deadline)
      // the due action ran once, at the deadline
      assert.deepStrictEqual(due, [deadline])
    }))

  it.effect("a deadline already passed does not wait", () =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeNanos
      let due = 0
      yield* sleepUntil(now - nanos(5), () => due++)
      yield* sleepUntil(now, () => due++)
      assert.strictEqual(due, 2)
    }))

  it.effect("a deadline inside the polling window is polled, with no timer", () =>
    Effect.gen(function*() {
      const start = yield* Clock.currentTimeNanos
      const fiber = yield* Effect.fork(sleepUntil(start + nanos(POLL_WINDOW_MILLIS / 2)))
      yield* turns
      assert.isNull(fiber.unsafePoll())
      assert.strictEqual((yield* TestClock.sleeps()).length, 0, "armed a timer")
      yield* TestClock.adjust(POLL_WINDOW_MILLIS / 2)
      yield* Fiber.join(fiber)
    }))

  it.effect("interrupted while polling, it stops polling and its due action never runs", () =>
    Effect.gen(function*() {
      const start = yield* Clock.currentTimeNanos
      let reads = 0
      // the test clock, counting its reads
      const clock = yield* Effect.clock
      const counting: Clock.Clock = Object.assign(Object.create(clock) as Clock.Clock, {
        unsafeCurrentTimeNanos: () => {
          reads++
          return clock.unsafeCurrentTimeNanos()
        }
      })
      let due = 0
      const fiber = yield* Effect.fork(Effect.withClock(sleepUntil(start + nanos(1), () => due++), counting))
      yield* turns
      assert.isAbove(reads, 1)
      yield* Fiber.interrupt(fiber)
      const after = reads
      yield* TestClock.adjust(1)
      yield* turns
      assert.strictEqual(reads, after)
      assert.strictEqual(due, 0, "the due action ran after an interruption")
    }))

  it.effect("a due action that throws while polling fails the fiber with that defect, not the process", () =>
    Effect.gen(function*() {
      const start = yield* Clock.currentTimeNanos
      const fiber = yield* Effect.fork(sleepUntil(start + nanos(POLL_WINDOW_MILLIS / 2), () => {
        throw new Error("writeHead refused")
      }))
      yield* turns
      yield* TestClock.adjust(POLL_WINDOW_MILLIS / 2)
      const exit = yield* Fiber.await(fiber)
      assert.isTrue(Exit.isFailure(exit) && Cause.isDie(exit.cause))
    }))

  it.effect("a shared poller runs what is due when flushed, in deadline order, once; a cancelled wait never runs", () =>
    Effect.gen(function*() {
      const clock = yield* Effect.clock
      const poller = makePoller(clock)
      const start = clock.unsafeCurrentTimeNanos()
      const ran: Array<string> = []
      poller.add(start + nanos(2), () => ran.push("b"))
      poller.add(start + nanos(1), () => ran.push("a"))
      const cancel = poller.add(start + nanos(1), () => ran.push("cancelled"))
      poller.add(start + nanos(3), () => ran.push("c"))
      cancel()
      poller.flush()
      assert.deepStrictEqual(ran, [])
      yield* TestClock.adjust(2)
      poller.flush()
      assert.deepStrictEqual(ran, ["a", "b"])
      poller.flush()
      assert.deepStrictEqual(ran, ["a", "b"])
      // the poller's own check, with nobody flushing
      yield* TestClock.adjust(1)
      yield* turns
      assert.deepStrictEqual(ran, ["a", "b", "c"])
    }))

  it.effect("waits on a shared poller resume when the server flushes past their deadline", () =>
    Effect.gen(function*() {
      const clock = yield* Effect.clock
      const poller = makePoller(clock)
      const start = yield* Clock.currentTimeNanos
      const written: Array<number> = []
      const fibers = yield* Effect.forEach([2, 1], (ms) =>
        Effect.fork(sleepUntil(start + nanos(ms), () => written.push(ms), poller)))
      yield* TestClock.adjust(2)
      poller.flush()
      assert.deepStrictEqual(written, [1, 2])
      yield* Fiber.joinAll(fibers)
    }))

  it.effect("an action that waits again from inside a flush keeps one check per turn", () =>
    Effect.gen(function*() {
      const clock = yield* Effect.clock
      let reads = 0
      // the test clock, counting its reads: one per check
      const counting: Clock.Clock = Object.assign(Object.create(clock) as Clock.Clock, {
        unsafeCurrentTimeNanos: () => {
          reads++
          return clock.unsafeCurrentTimeNanos()
        }
      })
      const poller = makePoller(counting)
      const start = clock.unsafeCurrentTimeNanos()
      const ran: Array<string> = []
      poller.add(start + nanos(1), () => {
        ran.push("first")
        poller.add(start + nanos(2), () => ran.push("second"))
      })
      yield* TestClock.adjust(1)
      yield* turns
      assert.deepStrictEqual(ran, ["first"])
      // 20 turns of the event loop while the second waits: about 20 checks, not twice that
      const before = reads
      yield* turns
      assert.isAtMost(reads - before, 22)
      yield* TestClock.adjust(1)
      yield* turns
      assert.deepStrictEqual(ran, ["first", "second"])
    }))

  it.effect("a poller asked for the worker waker on the test clock polls instead (the worker could never see it move)", () =>
    Effect.gen(function*() {
      const poller = makePoller(yield* Effect.clock, { waker: true })
      assert.isFalse(poller.wakesItself)
      const start = yield* Clock.currentTimeNanos
      const fiber = yield* Effect.fork(sleepUntil(start + nanos(10), () => {}, poller))
      yield* TestClock.adjust(10)
      yield* Fiber.join(fiber)
      poller.close()
    }))
})
