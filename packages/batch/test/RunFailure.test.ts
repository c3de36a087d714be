/**
 * Runs that cannot succeed stop instead of spending the input: a refused key or an exhausted
 * quota at the first item, a server that cannot be reached after a few items in a row. Those
 * items get no line, so that a resumed run tries them again once the cause is fixed.
 */
import { Predict, Signature } from "@effect-dspy/core"
import * as AiError from "@effect/ai/AiError"
import * as FileSystem from "@effect/platform/FileSystem"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Option, Stream, TestClock } from "effect"
import { Batch, Cache, Input } from "../src/index.js"
import * as ScriptedLm from "./utils/ScriptedLm.js"

const qa = Predict.make(Signature.fromString("question -> answer"))
const questions = (n: number) => Array.from({ length: n }, (_, i) => ({ question: `q${i}` }))

const refused = () =>
  new AiError.HttpRequestError({
    module: "Scripted",
    method: "generateText",
    reason: "Transport",
    request: { method: "POST", url: "http://ada:hunter2hunter2@127.0.0.1:9/v1/chat/completions", urlParams: [], hash: Option.none(), headers: {} },
    description: "connect ECONNREFUSED 127.0.0.1:9"
  })

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  assert(Exit.isFailure(exit) && exit.cause._tag === "Fail", `expected a failure, got ${String(exit)}`)
  return exit.cause.error
}

const drive = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    for (;;) {
      const exit = yield* Fiber.poll(fiber)
      if (Option.isSome(exit)) return exit.value
      yield* TestClock.adjust("10 millis")
    }
  })

describe("run-level failures", () => {
  it.effect("a refused key (HTTP 401) stops the run at once; no item line is written for it", () =>
    Effect.scoped(Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      const input = `${dir}/items.jsonl`
      const output = `${dir}/out.jsonl`
      yield* fs.writeFileString(input, questions(200).map((q) => JSON.stringify(q)).join("\n") + "\n")
      const lm = ScriptedLm.make(() => Effect.fail(ScriptedLm.httpError(401)))
      const exit = yield* Effect.exit(Batch.runFile(qa, { input, output, concurrency: 4 }).pipe(Effect.provide(lm.layer)))
      const error = failureOf(exit)
      assert(error._tag === "RunFailed")
      assert.strictEqual(error.reason, "Authentication")
      assert.strictEqual(error.error.status, 401)
      assert.match(error.message, /^the server refused the API key \(HTTP 401\)/)
      // at most the requests in flight when the first refusal came back
      assert.isAtMost(lm.counters.calls, 4)
      assert.strictEqual(yield* fs.readFileString(output), "")
    })).pipe(Effect.provide(NodeContext.layer)))

  it.effect("a server that cannot be reached: stops after N items in a row, with no line for them", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make(() => Effect.zipRight(Effect.sleep("50 millis"), Effect.fail(refused())))
      const exit = yield* drive(
        Batch.run(qa, questions(100), { concurrency: 2, maxConsecutiveConnectionFailures: 3 }).pipe(Effect.provide(lm.layer))
      )
      const error = failureOf(exit)
      assert(error._tag === "RunFailed")
      assert.strictEqual(error.reason, "Unreachable")
      assert.strictEqual(error.items, 3)
      assert.match(error.message, /^cannot reach the model server \(3 item\(s\) in a row failed to connect\): ConnectionReset/)
      assert.notInclude(error.message, "hunter2hunter2")
      assert.isAtMost(lm.counters.calls, 4)
    }))

  it.effect("connection failures between successes are item failures, written in order", () =>
    Effect.gen(function*() {
      // every third item cannot connect: never three in a row
      const lm = ScriptedLm.make((q) => Number(q.slice(1)) % 3 === 1 ? Effect.fail(refused()) : ScriptedLm.reply({ answer: q }))
      const { outcomes, summary } = yield* Batch.run(qa, questions(30), { concurrency: 1, maxConsecutiveConnectionFailures: 2 }).pipe(
        Effect.provide(lm.layer)
      )
      assert.strictEqual(outcomes.length, 30)
      assert.strictEqual(summary.failed, 10)
      assert.deepStrictEqual(summary.failedByKind, { ConnectionReset: 10 })
      assert.deepStrictEqual(outcomes.map((o) => o.index), Array.from({ length: 30 }, (_, i) => i))
      for (const o of outcomes) if (o._tag === "Failure") assert.notInclude(o.error.message, "hunter2hunter2")
    }))

  it.effect("a small input that never reaches the server stops with the same failure, fewer than N items", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make(() => Effect.fail(refused()))
      const exit = yield* Effect.exit(Batch.run(qa, questions(2), { maxConsecutiveConnectionFailures: 5 }).pipe(Effect.provide(lm.layer)))
      const error = failureOf(exit)
      assert(error._tag === "RunFailed")
      assert.strictEqual(error.reason, "Unreachable")
      assert.strictEqual(error.items, 2)
    }))

  it.effect("unreadable lines and cached results neither trip nor reset the breaker", () =>
    Effect.gen(function*() {
      // the server is down for "down-*" questions; "cached" was answered in an earlier run
      const cache = yield* Cache.memory
      const before = ScriptedLm.make((q) => ScriptedLm.reply({ answer: q }))
      yield* Batch.run(qa, [{ question: "cached" }], { cache }).pipe(Effect.provide(before.layer))
      const lm = ScriptedLm.make((q) => q.startsWith("down") ? Effect.fail(refused()) : ScriptedLm.reply({ answer: q }))
      const entries: ReadonlyArray<Input.Entry<{ readonly question: string }>> = [
        Input.item({ question: "down-1" }, 0),
        { _tag: "Invalid", id: "line:2", index: 1, line: 2, raw: "{", error: { kind: "MalformedLine", message: "line 2: not valid JSON" } },
        Input.item({ question: "cached" }, 2),
        Input.item({ question: "down-2" }, 3),
        Input.item({ question: "good" }, 4)
      ]
      const exit = yield* Effect.exit(
        Batch.run(qa, Stream.fromIterable(entries), { concurrency: 1, cache, maxConsecutiveConnectionFailures: 2 }).pipe(
          Effect.provide(lm.layer)
        )
      )
      const error = failureOf(exit)
      assert(error._tag === "RunFailed")
      assert.strictEqual(error.reason, "Unreachable")
      assert.deepStrictEqual(lm.counters.questions, ["down-1", "down-2"])
    }))
})
