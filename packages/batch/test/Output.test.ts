/**
 * The output file: one writer at a time (a lock with stale-lock detection), never the input under
 * another name, a full disk reported as such with the file consistent, and no credential in a
 * failure line.
 */
import { Predict, Signature } from "@effect-dspy/core"
import { Lm } from "@effect-dspy/providers"
import * as FileSystem from "@effect/platform/FileSystem"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as PlatformError from "@effect/platform/Error"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer, Logger, LogLevel, Redacted } from "effect"
import { spawnSync } from "node:child_process"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as os from "node:os"
import { Batch, Checkpoint, Outcome } from "../src/index.js"
import * as ScriptedLm from "./utils/ScriptedLm.js"

const qa = Predict.make(Signature.fromString("question -> answer"))

const withDir = <A, E, R>(f: (dir: string) => Effect.Effect<A, E, R>) =>
  Effect.scoped(Effect.flatMap(FileSystem.FileSystem, (fs) => Effect.flatMap(fs.makeTempDirectoryScoped(), f)))

const writeItems = (path: string, n: number) =>
  Effect.flatMap(FileSystem.FileSystem, (fs) =>
    fs.writeFileString(path, Array.from({ length: n }, (_, i) => JSON.stringify({ question: `q${i}` })).join("\n") + "\n"))

const reasonOf = <A, E>(exit: Exit.Exit<A, E>): string => {
  if (Exit.isSuccess(exit)) return "succeeded"
  const failure = exit.cause._tag === "Fail" ? exit.cause.error : undefined
  return failure instanceof Error ? failure.message : String(exit.cause)
}

/** A pid that no process has: a child that has already exited. */
const deadPid = (): number => spawnSync(process.execPath, ["-e", ""]).pid ?? 999_999

describe("output lock", () => {
  it.effect("a second writer on the same output is refused; once the first ends, it may run", () =>
    withDir((dir) =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const output = `${dir}/out.jsonl`
        const first = yield* Effect.either(Effect.scoped(Effect.gen(function*() {
          yield* Checkpoint.open(output)
          assert.isTrue(yield* fs.exists(`${output}.lock`))
          const lock = JSON.parse(yield* fs.readFileString(`${output}.lock`)) as { pid: number; host: string }
          assert.strictEqual(lock.pid, process.pid)
          assert.strictEqual(lock.host, os.hostname())
          // the same file under another name (a symbolic link) shares the lock
          yield* fs.symlink(output, `${dir}/alias.jsonl`)
          for (const path of [output, `${dir}/alias.jsonl`]) {
            const second = yield* Effect.exit(Effect.scoped(Checkpoint.open(path)))
            assert.match(reasonOf(second), new RegExp(`another run is writing .* \\(process ${process.pid}, since`))
          }
        })))
        assert.isTrue(first._tag === "Right")
        // released with its scope
        assert.isFalse(yield* fs.exists(`${output}.lock`))
        yield* Effect.scoped(Checkpoint.open(output))
      })
    ).pipe(Effect.provide(NodeContext.layer)))

  it.effect("runFile refuses a second run on the same output before reading its input", () =>
    withDir((dir) =>
      Effect.gen(function*() {
        const input = `${dir}/items.jsonl`
        const output = `${dir}/out.jsonl`
        yield* writeItems(input, 3)
        const lm = ScriptedLm.make((q) => ScriptedLm.reply({ answer: q }))
        yield* Effect.scoped(Effect.gen(function*() {
          yield* Checkpoint.open(output)
          const second = yield* Effect.exit(Batch.runFile(qa, { input, output }).pipe(Effect.provide(lm.layer)))
          assert.match(reasonOf(second), /cannot use output file .*: another run is writing/)
        }))
        assert.strictEqual(lm.counters.calls, 0)
      })
    ).pipe(Effect.provide(NodeContext.layer)))

  it.effect("a stale lock (its process is gone) is taken over; a lock held from another host is refused", () =>
    withDir((dir) =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const output = `${dir}/out.jsonl`
        const lock = `${output}.lock`
        yield* fs.writeFileString(lock, JSON.stringify({ pid: deadPid(), host: os.hostname(), startedAt: "earlier" }))
        yield* Effect.scoped(Effect.gen(function*() {
          yield* Checkpoint.open(output)
          assert.strictEqual((JSON.parse(yield* fs.readFileString(lock)) as { pid: number }).pid, process.pid)
        }))
        // cut short while being written (not even JSON): stale too
        yield* fs.writeFileString(lock, "{\"pid\": 12")
        yield* Effect.scoped(Checkpoint.open(output))
        yield* fs.writeFileString(lock, JSON.stringify({ pid: process.pid, host: "elsewhere.example", startedAt: "earlier" }))
        const refused = yield* Effect.exit(Effect.scoped(Checkpoint.open(output)))
        assert.match(reasonOf(refused), /another run is writing .* \(process \d+ on host elsewhere\.example, since earlier\); if it is no longer running, delete .*out\.jsonl\.lock/)
        // a lock that is not ours is left in place
        assert.isTrue(yield* fs.exists(lock))
      })
    ).pipe(Effect.provide(NodeContext.layer)))
})

describe("output is not the input", () => {
  it.effect("a symbolic link or a hard link to the input is refused before anything runs", () =>
    withDir((dir) =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const input = `${dir}/items.jsonl`
        yield* writeItems(input, 2)
        yield* fs.symlink(input, `${dir}/soft.jsonl`)
        yield* fs.link(input, `${dir}/hard.jsonl`)
        const lm = ScriptedLm.make((q) => ScriptedLm.reply({ answer: q }))
        for (const output of [input, `${dir}/soft.jsonl`, `${dir}/hard.jsonl`, `${dir}/./items.jsonl`]) {
          const exit = yield* Effect.exit(Batch.runFile(qa, { input, output }).pipe(Effect.provide(lm.layer)))
          assert.match(reasonOf(exit), /cannot use output file .*: it is the input file/, output)
        }
        assert.strictEqual(lm.counters.calls, 0)
        assert.strictEqual(yield* fs.readFileString(input), [0, 1].map((i) => JSON.stringify({ question: `q${i}` })).join("\n") + "\n")
      })
    ).pipe(Effect.provide(NodeContext.layer)))
})

/**
 * The node file system, but the disk holds only `lines` lines of `target`: a write beyond that
 * lands the lines that fit (as a real full disk takes a write part-way), then fails with ENOSPC.
 */
const diskFullAfter = (target: string, lines: number) =>
  Layer.effect(
    FileSystem.FileSystem,
    Effect.map(FileSystem.FileSystem, (fs): FileSystem.FileSystem => {
      let held = 0
      return {
        ...fs,
        open: (path, options) =>
          Effect.map(fs.open(path, options), (file) => {
            if (path !== target || options?.flag !== "a") return file
            const full: FileSystem.File = Object.create(file)
            Object.defineProperty(full, "writeAll", {
              value: (buffer: Uint8Array) => {
                // the bytes of the whole lines that still fit
                let fits = 0
                while (held < lines) {
                  const end = buffer.indexOf(10, fits)
                  if (end === -1) break
                  fits = end + 1
                  held++
                }
                if (fits === buffer.length) return file.writeAll(buffer)
                return Effect.zipRight(
                  fits === 0 ? Effect.void : file.writeAll(buffer.subarray(0, fits)),
                  Effect.fail(
                    new PlatformError.SystemError({
                      reason: "Unknown",
                      module: "FileSystem",
                      method: "writeAll",
                      description: "ENOSPC: no space left on device, write",
                      cause: Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" })
                    })
                  )
                )
              }
            })
            return full
          })
      }
    })
  ).pipe(Layer.provide(NodeContext.layer))

describe("disk full", () => {
  it.effect("says the file is consistent and that a rerun resumes; the rerun does", () =>
    withDir((dir) =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const input = `${dir}/items.jsonl`
        const output = `${dir}/out.jsonl`
        yield* writeItems(input, 6)
        const lm = ScriptedLm.make((q) => ScriptedLm.reply({ answer: q }))
        const exit = yield* Effect.exit(
          Batch.runFile(qa, { input, output, concurrency: 1 }).pipe(Effect.provide(lm.layer), Effect.provide(diskFullAfter(output, 2)))
        )
        assert(Exit.isFailure(exit) && exit.cause._tag === "Fail")
        const error = exit.cause.error
        assert(error._tag === "WriteError")
        assert.isTrue(error.diskFull)
        assert.strictEqual(error.linesWritten, 2)
        assert.strictEqual(
          error.message,
          `cannot write to output file ${output}: no space left on the device. The file is consistent (2 line(s) written by this run, ` +
            "every finished item a whole line): free some space, then run the same command again to resume"
        )
        assert.isFalse(yield* fs.exists(`${output}.lock`))
        const summary = yield* Batch.runFile(qa, { input, output }).pipe(Effect.provide(lm.layer))
        assert.strictEqual(summary.resumed, 2)
        assert.strictEqual(summary.succeeded, 4)
        assert.strictEqual((yield* fs.readFileString(output)).trim().split("\n").length, 6)
      })
    ).pipe(Effect.provide(NodeContext.layer)))
})

describe("lines written together", () => {
  it.effect("a write of several lines that fails part-way counts the lines that landed, and the rest runs again", () =>
    withDir((dir) =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const output = `${dir}/out.jsonl`
        const record = (id: number): Outcome.Record => ({ id: String(id), index: id, status: "success", input: {}, output: { n: id }, usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2, lmCalls: 1 }, latencyMs: 1 })
        const exit = yield* Effect.exit(Effect.scoped(Effect.gen(function*() {
          const checkpoint = yield* Checkpoint.open(output)
          yield* checkpoint.appendAll([record(0)])
          yield* checkpoint.appendAll([1, 2, 3, 4].map(record))
        })).pipe(Effect.provide(diskFullAfter(output, 3))))
        assert(Exit.isFailure(exit) && exit.cause._tag === "Fail")
        const error = exit.cause.error
        assert(error._tag === "WriteError")
        assert.strictEqual(error.linesWritten, 3)
        assert.deepStrictEqual((yield* fs.readFileString(output)).trim().split("\n").map((l) => JSON.parse(l).id), ["0", "1", "2"])
        const resumed = yield* Effect.scoped(Effect.map(Checkpoint.open(output), (c) => [0, 1, 2, 3, 4].filter((i) => !c.isDone(String(i)))))
        assert.deepStrictEqual(resumed, [3, 4])
      })
    ).pipe(Effect.provide(NodeContext.layer)))
})

describe("credentials", () => {
  it.live("a password or key in the base URL never reaches a failure line (through the provider)", () =>
    withDir((dir) =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        // a server that refuses every request as malformed, echoing the URL it was asked for
        const server = yield* Effect.acquireRelease(
          Effect.async<Http.Server>((resume) => {
            const s = Http.createServer((req, res) => {
              res.writeHead(400, { "content-type": "application/json" })
              res.end(JSON.stringify({ error: { message: `bad request for ${req.url}`, type: "invalid_request_error" } }))
            })
            s.listen(0, "127.0.0.1", () => resume(Effect.succeed(s)))
          }),
          (s) => Effect.async<void>((resume) => void s.close(() => resume(Effect.void)))
        )
        const port = (server.address() as AddressInfo).port
        const input = `${dir}/items.jsonl`
        const output = `${dir}/out.jsonl`
        yield* writeItems(input, 2)
        const model = Lm.layer("openai-compatible/any", {
          baseUrl: `http://ada:hunter2hunter2@127.0.0.1:${port}/v1?api_key=querysecret123`,
          apiKey: Redacted.make("sk-header-secret-0123456789"),
          retry: false
        })
        const summary = yield* Batch.runFile(qa, { input, output }).pipe(Effect.provide(model))
        assert.strictEqual(summary.failed, 2)
        const text = yield* fs.readFileString(output)
        assert.include(text, "BadRequest")
        for (const secret of ["hunter2hunter2", "querysecret123", "sk-header-secret-0123456789"]) assert.notInclude(text, secret)
      })
    ).pipe(Effect.provide(NodeContext.layer)))

  it.live("nor a log line, at any level (the retries' debug lines included)", () =>
    withDir((dir) =>
      Effect.gen(function*() {
        // a server that is overloaded, echoing the URL it was asked for
        const server = yield* Effect.acquireRelease(
          Effect.async<Http.Server>((resume) => {
            const s = Http.createServer((req, res) => {
              res.writeHead(503, { "content-type": "application/json" })
              res.end(JSON.stringify({ error: { message: `overloaded at ${req.url}`, type: "server_error" } }))
            })
            s.listen(0, "127.0.0.1", () => resume(Effect.succeed(s)))
          }),
          (s) => Effect.async<void>((resume) => void s.close(() => resume(Effect.void)))
        )
        const port = (server.address() as AddressInfo).port
        const input = `${dir}/items.jsonl`
        yield* writeItems(input, 2)
        const model = Lm.layer("openai-compatible/any", {
          baseUrl: `http://ada:hunter2hunter2@127.0.0.1:${port}/v1?api_key=querysecret123`,
          apiKey: Redacted.make("sk-header-secret-0123456789"),
          retry: { maxRetries: 1, baseDelay: "1 millis", jitter: false }
        })
        const logged: Array<string> = []
        const logger = Logger.make(({ message }) => void logged.push(JSON.stringify(message)))
        const summary = yield* Batch.runFile(qa, { input, output: `${dir}/out.jsonl` }).pipe(
          Effect.provide(model),
          Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
          Logger.withMinimumLogLevel(LogLevel.All)
        )
        assert.strictEqual(summary.failed, 2)
        const text = logged.join("\n")
        assert.include(text, "overloaded at")
        for (const secret of ["hunter2hunter2", "querysecret123", "sk-header-secret-0123456789"]) assert.notInclude(text, secret)
      })
    ).pipe(Effect.provide(NodeContext.layer)))
})
