import * as FileSystem from "@effect/platform/FileSystem"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { afterEach, assert, beforeEach, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, TestClock } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { type MockInstance, vi } from "vitest"
import * as Cli from "../src/Cli.js"
import * as Progress from "../src/Progress.js"

let out: MockInstance
let err: MockInstance
beforeEach(() => {
  out = vi.spyOn(console, "log").mockImplementation(() => {})
  err = vi.spyOn(console, "error").mockImplementation(() => {})
})
afterEach(() => {
  out.mockRestore()
  err.mockRestore()
})
const stdout = () => out.mock.calls.map((c) => c.join(" ")).join("\n")
const stderr = () => err.mock.calls.map((c) => c.join(" ")).join("\n")

/** Runs the command in this process with the given environment (nothing else leaks in). */
const cli = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  Cli.run(["node", "effect-dspy", ...args]).pipe(
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))),
    Effect.provide(NodeContext.layer)
  )

const withItems = <A, E>(lines: ReadonlyArray<string>, f: (dir: string) => Effect.Effect<A, E, FileSystem.FileSystem>) =>
  Effect.scoped(Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const dir = yield* fs.makeTempDirectoryScoped()
    yield* fs.writeFileString(`${dir}/items.jsonl`, lines.join("\n") + "\n")
    return yield* f(dir)
  })).pipe(Effect.provide(NodeContext.layer))

const items = (n: number) => Array.from({ length: n }, (_, i) => JSON.stringify({ question: `question ${i}` }))

describe("effect-dspy batch", () => {
  it.live("without a key it falls back to the simulator, saying so in one line; --json prints one object", () =>
    withItems(items(5), (dir) =>
      Effect.gen(function*() {
        const code = yield* cli(["batch", "-i", `${dir}/items.jsonl`, "-o", `${dir}/out.jsonl`, "--json"])
        assert.strictEqual(code, 0)
        assert.strictEqual(err.mock.calls.length, 1)
        assert.match(stderr(), /^effect-dspy: no model configured .*: using the offline simulator/)
        assert.strictEqual(out.mock.calls.length, 1)
        const summary = JSON.parse(stdout()) as { succeeded: number; model: string; total: number }
        assert.strictEqual(summary.succeeded, 5)
        assert.strictEqual(summary.model, "simulator/sim-1")
        const fs = yield* FileSystem.FileSystem
        assert.strictEqual((yield* fs.readFileString(`${dir}/out.jsonl`)).trim().split("\n").length, 5)
      })))

  it.live("a missing model key is one error line and exit code 2", () =>
    withItems(items(2), (dir) =>
      Effect.gen(function*() {
        const code = yield* cli(["batch", "-i", `${dir}/items.jsonl`, "-o", `${dir}/out.jsonl`, "--model", "openai/gpt-4o-mini"])
        assert.strictEqual(code, 2)
        assert.strictEqual(err.mock.calls.length, 1)
        assert.match(stderr(), /^effect-dspy: .*OPENAI_API_KEY/)
        assert.notInclude(stderr(), "\n")
        const fs = yield* FileSystem.FileSystem
        assert.isFalse(yield* fs.exists(`${dir}/out.jsonl`))
      })))

  it.live("an unknown model id is one error line and exit code 2", () =>
    withItems(items(2), (dir) =>
      Effect.gen(function*() {
        const code = yield* cli(["batch", "-i", `${dir}/items.jsonl`, "-o", `${dir}/out.jsonl`, "-m", "acme/rocket-1"])
        assert.strictEqual(code, 2)
        assert.match(stderr(), /^effect-dspy: Invalid model id "acme\/rocket-1": unknown provider/)
      })))

  it.live("a negative --memo-capacity is refused with exit code 2, before any model call", () =>
    withItems(items(2), (dir) =>
      Effect.gen(function*() {
        const code = yield* cli(["batch", "-i", `${dir}/items.jsonl`, "-o", `${dir}/out.jsonl`, "--memo-capacity", "-5"])
        assert.strictEqual(code, 2)
        assert.match(stderr() + stdout(), /--memo-capacity must be 0 or more/)
        const fs = yield* FileSystem.FileSystem
        assert.isFalse(yield* fs.exists(`${dir}/out.jsonl`))
      })))

  it.live("out-of-range numbers are refused with exit code 2 and a message naming the flag", () =>
    withItems(items(2), (dir) =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const cases: ReadonlyArray<readonly [string, string, string]> = [
          ["--concurrency", "-3", "--concurrency must be 1 or more"],
          ["--concurrency", "0", "--concurrency must be 1 or more"],
          ["--rpm", "0", "--rpm must be 1 or more"],
          ["--tpm", "-1", "--tpm must be 1 or more"],
          ["--max-errors", "-1", "--max-errors must be 0 or more"],
          ["--timeout", "0", "--timeout must be 1 or more"],
          ["--max-connection-failures", "0", "--max-connection-failures must be 1 or more"],
          ["--item-retries", "-1", "--item-retries must be 0 or more"]
        ]
        for (const [flag, value, message] of cases) {
          out.mockClear()
          err.mockClear()
          const code = yield* cli(["batch", "-i", `${dir}/items.jsonl`, "-o", `${dir}/out.jsonl`, flag, value])
          assert.strictEqual(code, 2, `${flag} ${value}`)
          assert.include(stderr() + stdout(), message)
        }
        assert.isFalse(yield* fs.exists(`${dir}/out.jsonl`))
      })))

  it.live("--item-retries bounds each item's retries: a server that always answers 503 gets 1 + N requests per item", () =>
    withItems(items(3), (dir) =>
      Effect.scoped(Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        let requests = 0
        const server = yield* Effect.acquireRelease(
          Effect.async<Http.Server>((resume) => {
            const s = Http.createServer((req, res) => {
              requests++
              req.resume()
              res.writeHead(503, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: "overloaded" } }))
            })
            s.listen(0, "127.0.0.1", () => resume(Effect.succeed(s)))
          }),
          (s) => Effect.sync(() => s.close())
        )
        const port = (server.address() as AddressInfo).port
        const code = yield* cli(
          ["batch", "-i", `${dir}/items.jsonl`, "-o", `${dir}/out.jsonl`, "-m", "openai-compatible/m", "-c", "3", "--item-retries", "1"],
          { OPENAI_COMPATIBLE_BASE_URL: `http://127.0.0.1:${port}/v1` }
        )
        assert.strictEqual(code, 0)
        assert.strictEqual(requests, 3 * 2)
        const lines = (yield* fs.readFileString(`${dir}/out.jsonl`)).trim().split("\n").map((l) => JSON.parse(l) as { status: string })
        assert.deepStrictEqual(lines.map((l) => l.status), ["failure", "failure", "failure"])
      }))), { timeout: 60_000 })

  it.live("an unreadable input file, a missing output directory, an unknown program: exit code 2", () =>
    withItems(items(2), (dir) =>
      Effect.gen(function*() {
        assert.strictEqual(yield* cli(["batch", "-i", `${dir}/nope.jsonl`, "-o", `${dir}/out.jsonl`]), 2)
        assert.match(stderr(), /cannot read input file .*nope\.jsonl: no such file/)
        err.mockClear()
        assert.strictEqual(yield* cli(["batch", "-i", dir, "-o", `${dir}/out.jsonl`]), 2)
        assert.match(stderr(), /cannot read input file .*: it is a directory/)
        err.mockClear()
        assert.strictEqual(yield* cli(["batch", "-i", `${dir}/items.jsonl`, "-o", `${dir}/no/such/out.jsonl`]), 2)
        assert.match(stderr(), /cannot use output file .*: directory .* does not exist/)
        err.mockClear()
        assert.strictEqual(yield* cli(["batch", "-p", "poetry", "-i", `${dir}/items.jsonl`, "-o", `${dir}/out.jsonl`]), 2)
        assert.match(stderr(), /cannot load program poetry: no built-in program/)
        err.mockClear()
        assert.strictEqual(yield* cli(["batch", "-p", `${dir}/items.jsonl`, "-i", `${dir}/items.jsonl`, "-o", `${dir}/out.jsonl`]), 2)
        assert.match(stderr(), /cannot load program .*: it failed to load|is not an effect-dspy module/)
        // a usage error from the parser
        assert.strictEqual(yield* cli(["batch", "--concurrency", "many"]), 2)
      })))

  it.live("a module file's default export runs; --max-errors stops early with exit code 1", () =>
    withItems([...items(3), "{\"question\": ", "{\"question\": 7}", ...items(20).slice(3)], (dir) =>
      Effect.gen(function*() {
        const program = new URL("../../../examples/batch-qa/program.ts", import.meta.url).pathname
        const code = yield* cli(
          ["batch", "-p", program, "-i", `${dir}/items.jsonl`, "-o", `${dir}/out.jsonl`, "-c", "1", "--max-errors", "1", "--json"],
          { EFFECT_DSPY_MODEL: "simulator/sim-1" }
        )
        assert.strictEqual(code, 1)
        const summary = JSON.parse(stdout()) as {
          stoppedEarly: boolean
          failed: number
          notAttempted: number
          succeeded: number
          failedByKind: Record<string, number>
        }
        assert.isTrue(summary.stoppedEarly)
        assert.strictEqual(summary.failed, 2)
        assert.deepStrictEqual(summary.failedByKind, { MalformedLine: 1, InvalidInput: 1 })
        assert.strictEqual(summary.succeeded, 3)
        assert.strictEqual(summary.notAttempted, 17)
        assert.match(stderr(), /stopped early: more than 1 items failed; 17 not attempted/)
        const fs = yield* FileSystem.FileSystem
        const lines = (yield* fs.readFileString(`${dir}/out.jsonl`)).trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>)
        assert.strictEqual(lines.length, 5)
        const success = lines.find((l) => l["status"] === "success")!
        assert.hasAllKeys(success["output"], ["reasoning", "answer", "confidence"])
      })))
})

describe("progress line", () => {
  it("shows done/total, rate, ETA, failures, in flight, queue and limit", () => {
    const line = Progress.render({
      total: 150,
      resumed: 10,
      done: 35,
      written: 35,
      succeeded: 33,
      failed: 2,
      inProgress: 10,
      inFlight: 8,
      queueDepth: 3,
      limit: 8,
      rateLimitHits: 4,
      elapsedMillis: 5000,
      rate: 7,
      etaMillis: 15_000
    })
    assert.strictEqual(line, "[#######-----------------] 45/150 30% | 7.0/s | ETA 15.0 s | failed 2 | in flight 8 | queue 3 | limit 8 | 429s 4")
  })

  it.scoped("without a terminal: one plain line every 5 seconds, none for a shorter run", () =>
    Effect.gen(function*() {
      const written: Array<string> = []
      let done = 0
      const stats = Effect.sync(() => ({
        total: 100,
        resumed: 0,
        done,
        written: done,
        succeeded: done,
        failed: 0,
        inProgress: 4,
        inFlight: 4,
        queueDepth: 0,
        limit: undefined,
        rateLimitHits: 0,
        elapsedMillis: 0,
        rate: 1,
        etaMillis: undefined
      }))
      yield* Progress.startPlain(stats, { write: (text) => void written.push(text) })
      yield* TestClock.adjust("4 seconds")
      assert.deepStrictEqual(written, [])
      done = 7
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(written, ["effect-dspy: [##----------------------] 7/100 7% | 1.0/s | failed 0 | in flight 4\n"])
      yield* TestClock.adjust("10 seconds")
      assert.strictEqual(written.length, 3)
      assert.isTrue(written.every((line) => !line.includes("\r") && !line.includes("\x1b")))
    }))
})
