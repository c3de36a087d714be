/**
 * The worker-thread waker and a server that uses it (`timing: "worker"`). These run on the live
 * clock, which is the only clock the worker can sleep on; they assert that nothing is woken or
 * answered early and that nothing is lost, never how late.
 */
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect } from "effect"
import { SimulatorServer } from "../src/index.js"
import { makePoller, sleepUntil } from "../src/internal/sleepUntil.js"
import * as Waker from "../src/internal/waker.js"
import { post } from "./http.js"

const millis = (ms: number) => BigInt(Math.round(ms * 1e6))

describe("waker", () => {
  it.live("wakes at or after every instant, an earlier one added while it waits for a later one included", () =>
    Effect.gen(function*() {
      const woken: Array<bigint> = []
      const pending: Array<bigint> = []
      let settle: () => void = () => {}
      const wakeAll = () => new Promise<void>((resolve) => (settle = resolve))
      const waker = Waker.make(() => {
        const now = process.hrtime.bigint()
        for (let i = pending.length - 1; i >= 0; i--) {
          if (pending[i]! <= now) {
            woken.push(pending[i]!)
            pending.splice(i, 1)
          }
        }
        if (pending.length === 0) settle()
      }, () => assert.fail("the waker's worker failed"))
      const at = (ms: number) => {
        const instant = process.hrtime.bigint() + millis(ms)
        pending.push(instant)
        waker.at(instant)
        return instant
      }
      // the worker started and woke once: later instants reach it while it runs
      let all = wakeAll()
      const first = at(1)
      yield* Effect.promise(() => all)
      // far off (a timer in the worker) and near (its precise wait) ...
      all = wakeAll()
      const late = at(8)
      const near = at(1.5)
      // ... and, once it waits for those, an earlier one, which ends that wait
      yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
      const earlier = at(0.5)
      yield* Effect.promise(() => all)
      waker.close()
      assert.sameMembers(woken, [first, late, near, earlier])
      // after close: nothing is posted to the closed worker (and nothing throws)
      waker.at(process.hrtime.bigint())
    }))

  it.live("a poller whose waker is closed still answers by checking the clock", () =>
    Effect.gen(function*() {
      const poller = makePoller(yield* Effect.clock, { waker: true })
      assert.isTrue(poller.wakesItself)
      poller.close()
      assert.isFalse(poller.wakesItself)
      const now = yield* Clock.currentTimeNanos
      yield* sleepUntil(now + millis(1), () => {}, poller)
    }))
})

describe("SimulatorServer with timing: \"worker\"", () => {
  it.live("answers every concurrent request, none before its latency", () =>
    Effect.gen(function*() {
      const server = yield* SimulatorServer.SimulatorServer
      const body = { model: "m", messages: [{ role: "user", content: "hi" }] }
      const took = yield* Effect.forEach(Array.from({ length: 10 }), () =>
        Effect.gen(function*() {
          const start = performance.now()
          const reply = yield* post(`${server.url}/v1/chat/completions`, body)
          assert.strictEqual(reply.status, 200)
          return performance.now() - start
        }), { concurrency: "unbounded" })
      for (const ms of took) assert.isAtLeast(ms, 5)
      const counters = yield* server.counters
      assert.deepStrictEqual([counters.completed, counters.inFlight], [10, 0])
    }).pipe(Effect.provide(SimulatorServer.layer({ port: 0, latency: { _tag: "Fixed", millis: 5 }, timing: "worker" }))))
})
