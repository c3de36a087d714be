/**
 * The worker-thread waker and a server that uses it (`timing: "worker"`). These run on the live
 * clock, which is the only clock the worker can sleep on; they assert that nothing is woken or
 * answered early and that nothing is lost, never how late.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { SimulatorServer } from "../src/index"
import * as Waker from "../src/internal/waker"
import { post } from "./http"

const millis = (ms: number) => BigInt(Math.round(ms * 1e6))

describe("waker", () => {
  it.live("wakes at or after every instant, an earlier one added while it waits for a later one included", () =>
    Effect.gen(function*() {
      const woken: Array<bigint> = []
      const pending: Array<bigint> = []
      let done: () => void = () => {}
      const all = new Promise<void>((resolve) => (done = resolve))
      const waker = Waker.make(() => {
        const now = process.hrtime.bigint()
        for (let i = pending.length - 1; i >= 0; i--) {
          if (pending[i]! <= now) {
            woken.push(pending[i]!)
            pending.splice(i, 1)
          }
        }
        if (pending.length === 0) done()
      })
      const at = (ms: number) => {
        const instant = process.hrtime.bigint() + millis(ms)
        pending.push(instant)
        waker.at(instant)
        return instant
      }
      // far off (a timer in the worker), near (its precise wait), and one added once it waits
      const late = at(8)
      const near = at(1.5)
      yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
      const earlier = at(0.5)
      yield* Effect.promise(() => all)
      waker.close()
      assert.sameMembers(woken, [late, near, earlier])
      assert.deepStrictEqual(pending, [])
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
