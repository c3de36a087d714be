import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer } from "effect"
import { CodeSandbox } from "../src/index.js"

// A real worker thread and real time: the limits are the point.
const sandbox = CodeSandbox.layerQuickJs({ timeout: "300 millis", memoryLimitBytes: 16 * 1024 * 1024 })
const run = (code: string) => Effect.flatMap(CodeSandbox.CodeSandbox, (s) => s.run(code))
const failure = (code: string) => Effect.flip(run(code))

describe("CodeSandbox.layerQuickJs", () => {
  it.live("runs a program: what it submits, its last value, what it prints", () =>
    Effect.gen(function*() {
      const submitted = yield* run("const xs = [3, 4, 5]; SUBMIT({ total: xs.reduce((a, b) => a + b, 0) }); 'ignored'")
      assert.strictEqual(submitted.submitted, "{\"total\":12}")
      const value = yield* run("console.log('two', 2, { a: 1 }); [1, 2].map((x) => x * 10)")
      assert.strictEqual(value.value, "[10,20]")
      assert.isUndefined(value.submitted)
      assert.strictEqual(value.printed, "two 2 {\"a\":1}\n")
      // promises settle before the run ends
      const later = yield* run("Promise.resolve(7).then((x) => SUBMIT(x * 6))")
      assert.strictEqual(later.submitted, "42")
    }).pipe(Effect.provide(sandbox)))

  it.live("syntax and runtime errors are the program's", () =>
    Effect.gen(function*() {
      const syntax = yield* failure("let = ;")
      assert.strictEqual(syntax.kind, "syntax")
      assert.match(syntax.detail, /^SyntaxError/)
      const runtime = yield* failure("null.x")
      assert.strictEqual(runtime.kind, "runtime")
      assert.match(runtime.detail, /^TypeError/)
    }).pipe(Effect.provide(sandbox)))

  it.live("the program sees no module, file, network or process access", () =>
    Effect.gen(function*() {
      const globals = yield* run(
        "[typeof require, typeof process, typeof fetch, typeof XMLHttpRequest, typeof std, typeof os, typeof Deno, typeof Bun, typeof WebAssembly].join(',')"
      )
      assert.strictEqual(globals.value, JSON.stringify(Array(9).fill("undefined").join(",")))
      for (const attempt of ["require('fs').readFileSync('/etc/passwd')", "process.env", "fetch('http://127.0.0.1')"]) {
        const error = yield* failure(attempt)
        assert.strictEqual(error.kind, "runtime", attempt)
        assert.match(error.detail, /ReferenceError/, attempt)
      }
      // dynamic import has no loader: the promise rejects
      const imported = yield* run("let seen; import('fs').then(() => { seen = 'loaded' }, (e) => { seen = String(e) }); Promise.resolve().then(() => SUBMIT(seen))")
      assert.notInclude(imported.submitted ?? "", "loaded")
      const imported2 = yield* run("let r = 'pending'; import('os').then(() => r = 'loaded', (e) => r = 'refused: ' + e.message); r")
      assert.notInclude(imported2.value ?? "", "loaded")
      // nothing survives between runs
      yield* run("globalThis.leak = 'secret'")
      assert.strictEqual((yield* run("typeof leak")).value, "\"undefined\"")
    }).pipe(Effect.provide(sandbox)))

  it.live("an infinite loop is stopped at its deadline, and the sandbox still runs the next program", () =>
    Effect.gen(function*() {
      const error = yield* failure("while (true) {}")
      assert.strictEqual(error.kind, "timeout")
      assert.strictEqual((yield* run("1 + 1")).value, "2")
    }).pipe(Effect.provide(sandbox)))

  it.live("memory bombs end in an error, whichever limit they hit first", () =>
    Effect.gen(function*() {
      const huge = yield* failure("'x'.repeat(2 ** 28)")
      assert.strictEqual(huge.kind, "memory")
      const arrays = yield* failure("const a = []; while (true) a.push(new Array(1e6).fill(0))")
      assert.include(["memory", "timeout"], arrays.kind)
      // strings near the limit make the engine slow in one native call: the worker is ended
      const strings = yield* failure("const a = []; while (true) a.push('x'.repeat(1e6) + Math.random())")
      assert.include(["memory", "timeout"], strings.kind)
      assert.strictEqual((yield* run("'still here'")).value, "\"still here\"")
    }).pipe(Effect.provide(sandbox)))

  it.live("deep recursion overflows the program's stack, not the host's", () =>
    Effect.gen(function*() {
      const error = yield* failure("function f(n) { return f(n + 1) + 1 } f(0)")
      assert.strictEqual(error.kind, "stack")
      assert.strictEqual((yield* run("3 * 3")).value, "9")
    }).pipe(Effect.provide(sandbox)))

  it.live("a runaway program does not block the caller's event loop", () =>
    Effect.gen(function*() {
      const order: Array<string> = []
      // A program that runs to its time limit (300 ms): a sandbox on the caller's thread would
      // push "sandbox" before the 20 ms timer could fire.
      const runaway = yield* Effect.fork(Effect.tap(failure("let n = 0; while (true) n++"), (error) =>
        Effect.sync(() => order.push(`sandbox ${error.kind}`))))
      yield* Effect.sleep("20 millis")
      order.push("timer")
      yield* Fiber.join(runaway)
      assert.deepStrictEqual(order, ["timer", "sandbox timeout"])
    }).pipe(Effect.provide(sandbox)))

  it.live("interrupting a run ends it", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(run("while (true) {}"))
      // (a real worker thread is the point; the pause only lets the run start, and the assertion
      // below holds whether the interruption lands before or during it)
      yield* Effect.sleep("50 millis")
      yield* Fiber.interrupt(fiber)
      assert.strictEqual((yield* run("'next'")).value, "\"next\"")
    }).pipe(Effect.provide(Layer.fresh(sandbox))))
})
