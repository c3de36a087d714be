import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Scope, TestClock } from "effect"
import { Readable } from "node:stream"
import * as Pacer from "../src/internal/pacer.js"
import type { SsePlan } from "../src/internal/wire.js"

const plan = (count: number): SsePlan => ({
  head: "H",
  count,
  frame: (i) => `${i},`,
  tail: () => "T"
})

// Everything pushed into a readable so far (null marks the end).
const sink = () => {
  const pushed: Array<string | null> = []
  const readable = new Readable({ read() {} })
  readable.push = (chunk: unknown) => {
    pushed.push(chunk === null ? null : String(chunk))
    return true
  }
  return { readable, pushed }
}

describe("Pacer", () => {
  it.effect("sends each frame when due, all due frames of a stream in one write, then the tail and the end", () =>
    Effect.gen(function*() {
      const pacer = Pacer.make()
      const a = sink()
      const b = sink()
      let done = 0
      const scope = yield* Scope.make()
      yield* Scope.extend(
        pacer.add({ ...a, plan: plan(3), count: 3, first: 100, per: 3, withTail: true, onDone: () => done++ }),
        scope
      )
      yield* Scope.extend(
        pacer.add({ ...b, plan: plan(2), count: 2, first: 30, per: 50, withTail: false, onDone: () => done++ }),
        scope
      )
      yield* TestClock.adjust("50 millis")
      assert.deepStrictEqual(a.pushed, [])
      assert.deepStrictEqual(b.pushed, ["0,"])
      yield* TestClock.adjust("50 millis")
      assert.deepStrictEqual(a.pushed, ["0,"])
      assert.deepStrictEqual(b.pushed, ["0,", "1,", null], "no tail when withTail is false")
      // the next two frames of `a` (at 103 and 106 ms) fall due within one tick: one write
      yield* TestClock.adjust("40 millis")
      assert.deepStrictEqual(a.pushed, ["0,", "1,2,T", null])
      assert.strictEqual(done, 2)
    }))

  it.effect("a stream whose scope closes gets nothing more", () =>
    Effect.gen(function*() {
      const pacer = Pacer.make()
      const a = sink()
      let done = 0
      const scope = yield* Scope.make()
      yield* Scope.extend(
        pacer.add({ ...a, plan: plan(5), count: 5, first: 10, per: 100, withTail: true, onDone: () => done++ }),
        scope
      )
      yield* TestClock.adjust("20 millis")
      assert.deepStrictEqual(a.pushed, ["0,"])
      yield* Scope.close(scope, Exit.void)
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(a.pushed, ["0,"])
      assert.strictEqual(done, 0)
    }))
})
