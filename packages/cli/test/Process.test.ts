/**
 * The command as a real process against a simulator server on loopback: killed with SIGKILL
 * mid-run and started again, and interrupted with SIGINT. Assertions use counters and file
 * contents, never timings; waits poll for a condition.
 */
import { SimulatorServer } from "@effect-dspy/simulator"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
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

const start = (args: ReadonlyArray<string>, env: Record<string, string>): Child => {
  const child = spawn(process.execPath, [bin, ...args], {
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
        records.map((r) => Number(r.id)).sort((a, b) => a - b),
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
      assert.match(child.stderr(), /interrupted after \d+ item\(s\)/)
      // the server saw the client go away instead of waiting for the answers
      const counters = yield* waitForCounters(server, (c) => c.abortedByClient > 0 && c.inFlight === 0)
      assert.isAbove(counters.abortedByClient, 0)
      const { lines, torn } = readOutput(output)
      assert.isFalse(torn)
      const ids = lines.map((l) => (JSON.parse(l) as { id: string }).id)
      assert.strictEqual(new Set(ids).size, ids.length)
      assert.isBelow(ids.length, 40)
    }).pipe(Effect.scoped), { timeout: 180_000 })
})
