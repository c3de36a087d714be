/**
 * The command as a real process against a simulator server on loopback: killed with SIGKILL
 * mid-run and started again, interrupted with SIGINT and SIGTERM (also through `pnpm exec`, as
 * the README runs it), a second run on the same output, a refused key and a dead server.
 * Assertions use counters, exit codes and file contents, never timings; waits poll for a condition.
 */
import { SimulatorServer } from "@effect-dspy/simulator"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("../../..", import.meta.url))
// the workspace bin (`pnpm exec effect-dspy`): the command in this very process, on the sources
const bin = fileURLToPath(new URL("../dev/effect-dspy.mjs", import.meta.url))

interface Child {
  readonly process: ChildProcess
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
  readonly stderr: () => string
}

const start = (args: ReadonlyArray<string>, env: Record<string, string>, command: ReadonlyArray<string> = [process.execPath, bin]): Child => {
  const child = spawn(command[0]!, [...command.slice(1), ...args], {
    cwd: root,
    env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let stderr = ""
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  child.stdout!.resume()
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal }))
  )
  return { process: child, exited, stderr: () => stderr }
}

/** Complete lines (ending with a newline) of a file, and whether a torn one follows. */
const readOutput = (file: string) => {
  const text = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : ""
  const parts = text.split("\n")
  const torn = parts.pop() !== ""
  return { lines: parts, torn }
}

/** Polls (on the live clock) until `condition` holds; fails if the child exits first. */
const waitFor = (child: Child, what: string, condition: () => boolean) =>
  Effect.gen(function*() {
    let exited = false
    void child.exited.then(() => {
      exited = true
    })
    while (!condition()) {
      if (exited) return yield* Effect.die(new Error(`the command exited before ${what}: ${child.stderr()}`))
      yield* Effect.sleep("25 millis")
    }
  })

/** Polls the server's counters until they satisfy `condition`. */
const waitForCounters = (
  server: SimulatorServer.Service,
  condition: (c: SimulatorServer.Counters) => boolean
): Effect.Effect<SimulatorServer.Counters> =>
  Effect.flatMap(server.counters, (c) =>
    condition(c) ? Effect.succeed(c) : Effect.zipRight(Effect.sleep("25 millis"), waitForCounters(server, condition)))

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "effect-dspy-cli-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

const writeItems = (file: string, n: number) =>
  fs.writeFileSync(file, Array.from({ length: n }, (_, i) => JSON.stringify({ question: `question number ${i + 1}` })).join("\n") + "\n")

describe("effect-dspy as a process", () => {
  it.live("SIGKILL mid-run, then the same command again: every input exactly once, only the rest called", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const server = yield* SimulatorServer.make({ port: 0, latency: { _tag: "Fixed", millis: 150 } })
      const input = path.join(dir, "items.jsonl")
      const output = path.join(dir, "results.jsonl")
      const N = 30
      writeItems(input, N)
      const args = ["batch", "-i", input, "-o", output, "-c", "3", "-m", "openai-compatible/sim-1"]
      const env = { OPENAI_COMPATIBLE_BASE_URL: `${server.url}/v1` }

      const first = start(args, env)
      yield* waitFor(first, "writing 4 lines", () => readOutput(output).lines.length >= 4)
      first.process.kill("SIGKILL")
      const killed = yield* Effect.promise(() => first.exited)
      assert.strictEqual(killed.signal, "SIGKILL")
      const done = readOutput(output).lines.length
      assert.isBelow(done, N)

      yield* server.reset
      const second = start(args, env)
      const exit = yield* Effect.promise(() => second.exited)
      assert.strictEqual(exit.code, 0, second.stderr())

      const { lines, torn } = readOutput(output)
      assert.isFalse(torn)
      const records = lines.map((l) => JSON.parse(l) as { id: string; status: string })
      assert.strictEqual(records.length, N)
      assert.deepStrictEqual(
        records.map((r) => Number(r.id.replace(/^line:/, ""))).sort((a, b) => a - b),
        Array.from({ length: N }, (_, i) => i + 1)
      )
      assert.isTrue(records.every((r) => r.status === "success"))
      // the second run asked the model only for the items missing from the file
      const counters = yield* server.counters
      assert.strictEqual(counters.requests, N - done)
    }).pipe(Effect.scoped), { timeout: 180_000 })

  it.live("SIGINT: in-flight requests are aborted, the file is consistent, exit code 130", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const server = yield* SimulatorServer.make({ port: 0, latency: { _tag: "Fixed", millis: 400 } })
      const input = path.join(dir, "items.jsonl")
      const output = path.join(dir, "results.jsonl")
      writeItems(input, 40)
      const child = start(["batch", "-i", input, "-o", output, "-c", "4", "-m", "openai-compatible/sim-1"], {
        OPENAI_COMPATIBLE_BASE_URL: `${server.url}/v1`
      })
      yield* waitFor(child, "writing 4 lines", () => readOutput(output).lines.length >= 4)
      // wait for requests on the wire, then interrupt
      yield* waitForCounters(server, (c) => c.inFlight > 0)
      child.process.kill("SIGINT")
      const exit = yield* Effect.promise(() => child.exited)
      assert.strictEqual(exit.code, 130, child.stderr())
      assert.match(child.stderr(), /interrupted after writing \d+ line\(s\) in this run/)
      // the server saw the client go away instead of waiting for the answers
      const counters = yield* waitForCounters(server, (c) => c.abortedByClient > 0 && c.inFlight === 0)
      assert.isAbove(counters.abortedByClient, 0)
      const { lines, torn } = readOutput(output)
      assert.isFalse(torn)
      const ids = lines.map((l) => (JSON.parse(l) as { id: string }).id)
      assert.strictEqual(new Set(ids).size, ids.length)
      assert.isBelow(ids.length, 40)
    }).pipe(Effect.scoped), { timeout: 180_000 })

  it.live("SIGTERM: exit code 143, and the message counts exactly the lines written", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const server = yield* SimulatorServer.make({ port: 0, latency: { _tag: "Fixed", millis: 200 } })
      const input = path.join(dir, "items.jsonl")
      const output = path.join(dir, "results.jsonl")
      writeItems(input, 200)
      const child = start(["batch", "-i", input, "-o", output, "-c", "4", "-m", "openai-compatible/sim-1"], {
        OPENAI_COMPATIBLE_BASE_URL: `${server.url}/v1`
      })
      yield* waitFor(child, "writing 6 lines", () => readOutput(output).lines.length >= 6)
      child.process.kill("SIGTERM")
      const exit = yield* Effect.promise(() => child.exited)
      assert.strictEqual(exit.code, 143, child.stderr())
      const written = /interrupted after writing (\d+) line\(s\)/.exec(child.stderr())
      assert.isNotNull(written, child.stderr())
      const { lines, torn } = readOutput(output)
      assert.isFalse(torn)
      assert.strictEqual(Number(written![1]), lines.length)
      assert.isFalse(fs.existsSync(`${output}.lock`))
    }).pipe(Effect.scoped), { timeout: 180_000 })

  it.live("a second run on the same output is refused (exit code 2) while the first goes on", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const server = yield* SimulatorServer.make({ port: 0, latency: { _tag: "Fixed", millis: 200 } })
      const input = path.join(dir, "items.jsonl")
      const output = path.join(dir, "results.jsonl")
      // long enough that the first run is still going when the second has started and ended
      writeItems(input, 5000)
      const args = ["batch", "-i", input, "-o", output, "-c", "2", "-m", "openai-compatible/sim-1"]
      const env = { OPENAI_COMPATIBLE_BASE_URL: `${server.url}/v1` }
      const first = start(args, env)
      // neither may outlive the test, whatever it finds
      yield* Effect.addFinalizer(() => Effect.sync(() => first.process.kill("SIGKILL")))
      yield* waitFor(first, "writing a line", () => readOutput(output).lines.length >= 1)
      const second = start(args, env)
      yield* Effect.addFinalizer(() => Effect.sync(() => second.process.kill("SIGKILL")))
      const refused = yield* Effect.promise(() => second.exited).pipe(
        Effect.timeoutFail({ duration: "60 seconds", onTimeout: () => new Error(`the second run was not refused: ${second.stderr()}`) })
      )
      assert.strictEqual(refused.code, 2, second.stderr())
      assert.match(second.stderr(), /^effect-dspy: cannot use output file .*results\.jsonl: another run is writing .* \(process \d+, since /)
      // the first never stopped: it still writes
      const now = readOutput(output).lines.length
      yield* waitFor(first, "writing more lines", () => readOutput(output).lines.length > now)
      first.process.kill("SIGTERM")
      assert.strictEqual((yield* Effect.promise(() => first.exited)).code, 143)
      const ids = readOutput(output).lines.map((l) => (JSON.parse(l) as { id: string }).id)
      assert.strictEqual(new Set(ids).size, ids.length)
      assert.isAtMost((yield* server.counters).requests, ids.length + 2)
    }).pipe(Effect.scoped), { timeout: 180_000 })

  it.live("the README's `pnpm exec effect-dspy`, killed with SIGTERM, leaves no writer behind", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const server = yield* SimulatorServer.make({ port: 0, latency: { _tag: "Fixed", millis: 200 } })
      const input = path.join(dir, "items.jsonl")
      const output = path.join(dir, "results.jsonl")
      writeItems(input, 200)
      const child = start(
        ["exec", "effect-dspy", "batch", "-i", input, "-o", output, "-c", "4", "-m", "openai-compatible/sim-1"],
        { OPENAI_COMPATIBLE_BASE_URL: `${server.url}/v1` },
        ["pnpm"]
      )
      yield* waitFor(child, "writing 4 lines", () => readOutput(output).lines.length >= 4)
      child.process.kill("SIGTERM")
      yield* Effect.promise(() => child.exited)
      // no process is left with the output in its arguments, and the lock was released by its holder
      const writers = yield* Client.eventuallyNone(() => processesNaming(output))
      assert.deepStrictEqual(writers, [])
      assert.isFalse(fs.existsSync(`${output}.lock`))
      const before = readOutput(output).lines.length
      yield* waitForCounters(server, (c) => c.inFlight === 0)
      assert.strictEqual(readOutput(output).lines.length, before)
    }).pipe(Effect.scoped), { timeout: 180_000 })

  it.live("a refused key stops at once with exit code 3, naming the variable, and writes no line", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      let requests = 0
      const port = yield* httpServer((_, res) => {
        requests++
        res.writeHead(401, { "content-type": "application/json" })
        res.end(JSON.stringify({ error: { message: "Incorrect API key provided: sk-bad***", type: "invalid_request_error", code: "invalid_api_key" } }))
      })
      const input = path.join(dir, "items.jsonl")
      const output = path.join(dir, "results.jsonl")
      writeItems(input, 100)
      const child = start(["batch", "-i", input, "-o", output, "-c", "3", "-m", "openai-compatible/any"], {
        OPENAI_COMPATIBLE_BASE_URL: `http://ada:hunter2hunter2@127.0.0.1:${port}/v1`,
        OPENAI_COMPATIBLE_API_KEY: "sk-this-key-is-refused-0123456789"
      })
      const exit = yield* Effect.promise(() => child.exited)
      assert.strictEqual(exit.code, 3, child.stderr())
      assert.match(child.stderr(), /^effect-dspy: the server refused the API key \(HTTP 401\): check OPENAI_COMPATIBLE_API_KEY; no line was written/m)
      for (const secret of ["hunter2hunter2", "sk-this-key-is-refused"]) assert.notInclude(child.stderr(), secret)
      assert.deepStrictEqual(readOutput(output).lines, [])
      assert.isAtMost(requests, 3)
    }).pipe(Effect.scoped), { timeout: 180_000 })

  it.live("a server nobody listens on stops the run with exit code 3: cannot reach its address", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      // a port that was free a moment ago: nothing listens on it
      const port = yield* Effect.scoped(httpServer(() => {}))
      const input = path.join(dir, "items.jsonl")
      const output = path.join(dir, "results.jsonl")
      writeItems(input, 100)
      const child = start(
        ["batch", "-i", input, "-o", output, "-c", "2", "--max-connection-failures", "2", "-m", "openai-compatible/any"],
        { OPENAI_COMPATIBLE_BASE_URL: `http://ada:hunter2hunter2@127.0.0.1:${port}/v1` }
      )
      const exit = yield* Effect.promise(() => child.exited)
      assert.strictEqual(exit.code, 3, child.stderr())
      assert.match(
        child.stderr(),
        new RegExp(`^effect-dspy: cannot reach http://(\\[REDACTED\\]@)?127\\.0\\.0\\.1:${port}/v1/chat/completions: 2 item\\(s\\) in a row failed to connect`, "m")
      )
      assert.notInclude(child.stderr(), "hunter2hunter2")
      assert.deepStrictEqual(readOutput(output).lines, [])
    }).pipe(Effect.scoped), { timeout: 180_000 })
})

/** A loopback HTTP server for the scope; its port. */
const httpServer = (handler: Http.RequestListener) =>
  Effect.acquireRelease(
    Effect.async<Http.Server>((resume) => {
      const server = Http.createServer(handler)
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
    }),
    (server) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
  ).pipe(Effect.map((server) => (server.address() as AddressInfo).port))

/** The pids of processes whose arguments name `file` (Linux: /proc). */
const processesNaming = (file: string): ReadonlyArray<number> => {
  if (!fs.existsSync("/proc")) return []
  const pids: Array<number> = []
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(file)) pids.push(Number(entry))
    } catch {
      // gone meanwhile
    }
  }
  return pids
}

const Client = {
  /** Polls until `list` is empty (or 10 s have passed: then returns what is left). */
  eventuallyNone: <A>(list: () => ReadonlyArray<A>): Effect.Effect<ReadonlyArray<A>> =>
    Effect.gen(function*() {
      for (let i = 0; i < 400; i++) {
        const left = list()
        if (left.length === 0) return left
        yield* Effect.sleep("25 millis")
      }
      return list()
    })
}
