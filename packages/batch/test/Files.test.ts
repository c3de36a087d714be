import { Predict, Signature } from "@effect-dspy/core"
import * as FileSystem from "@effect/platform/FileSystem"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { Batch, Cache, Input } from "../src/index.js"
import * as ScriptedLm from "./utils/ScriptedLm.js"

const QA = Signature.fromString("question -> answer")
const qa = Predict.make(QA)

const Triage = Signature.make("Triage", {
  input: { request: Schema.String, mood: Schema.Literal("happy", "neutral", "upset"), priority: Schema.Number },
  output: { reply: Schema.String }
})
const triage = Predict.make(Triage)

const record = (id: number) => JSON.stringify({
  id: `line:${id}`,
  index: id - 1,
  line: id,
  status: "success",
  input: { question: `q${id}` },
  output: { answer: `old-${id}` },
  usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2, lmCalls: 1 },
  latencyMs: 1
})

const readLines = (path: string) =>
  Effect.flatMap(FileSystem.FileSystem, (fs) => fs.readFileString(path)).pipe(
    Effect.map((text) => ({ text, lines: text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Record<string, unknown>) }))
  )

const withDir = <A, E, R>(f: (dir: string) => Effect.Effect<A, E, R>) =>
  Effect.scoped(Effect.flatMap(FileSystem.FileSystem, (fs) => Effect.flatMap(fs.makeTempDirectoryScoped(), f)))

describe("runFile", () => {
  it.effect("resumes: skips finished items, drops a torn last line, runs only the rest", () =>
    withDir((dir) =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const input = `${dir}/items.jsonl`
        const output = `${dir}/results.jsonl`
        yield* fs.writeFileString(input, Array.from({ length: 10 }, (_, i) => JSON.stringify({ question: `q${i + 1}` })).join("\n") + "\n")
        // four finished items, then a line torn by a kill
        yield* fs.writeFileString(output, [1, 2, 3, 4].map(record).join("\n") + "\n" + record(5).slice(0, 40))
        const lm = ScriptedLm.make((q) => ScriptedLm.reply({ answer: `new-${q}` }))
        const summary = yield* Batch.runFile(qa, { input, output, concurrency: 3 }).pipe(Effect.provide(lm.layer))
        assert.strictEqual(lm.counters.calls, 6)
        assert.deepStrictEqual([...lm.counters.questions].sort(), ["q10", "q5", "q6", "q7", "q8", "q9"])
        assert.strictEqual(summary.resumed, 4)
        assert.strictEqual(summary.succeeded, 6)
        assert.strictEqual(summary.checkpoint.items, 4)
        assert.isAbove(summary.checkpoint.tornBytes, 0)
        const { lines, text } = yield* readLines(output)
        assert.isTrue(text.endsWith("\n"))
        assert.strictEqual(lines.length, 10)
        const ids = lines.map((l) => String(l["id"]))
        assert.deepStrictEqual(
          [...ids].sort((a, b) => Number(a.slice(5)) - Number(b.slice(5))),
          Array.from({ length: 10 }, (_, i) => `line:${i + 1}`)
        )
        // a second run has nothing left to do
        const again = yield* Batch.runFile(qa, { input, output }).pipe(Effect.provide(lm.layer))
        assert.strictEqual(lm.counters.calls, 6)
        assert.strictEqual(again.resumed, 10)
        assert.strictEqual((yield* readLines(output)).lines.length, 10)
      })
    ).pipe(Effect.provide(NodeContext.layer)))

  it.effect("retryFailed runs the recorded failures again and replaces their lines", () =>
    withDir((dir) =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const input = `${dir}/items.jsonl`
        const output = `${dir}/results.jsonl`
        yield* fs.writeFileString(input, ["q1", "q2", "q3"].map((q) => JSON.stringify({ question: q })).join("\n"))
        const failing = ScriptedLm.make((q) => q === "q2" ? Effect.fail(ScriptedLm.httpError(500)) : ScriptedLm.reply({ answer: q }))
        const first = yield* Batch.runFile(qa, { input, output }).pipe(Effect.provide(failing.layer))
        assert.deepStrictEqual(first.failedByKind, { Overloaded: 1 })
        const fixed = ScriptedLm.make((q) => ScriptedLm.reply({ answer: q }))
        yield* Batch.runFile(qa, { input, output }).pipe(Effect.provide(fixed.layer))
        assert.strictEqual(fixed.counters.calls, 0)
        const second = yield* Batch.runFile(qa, { input, output, retryFailed: true }).pipe(Effect.provide(fixed.layer))
        assert.strictEqual(fixed.counters.calls, 1)
        assert.strictEqual(second.checkpoint.retried, 1)
        const { lines } = yield* readLines(output)
        assert.strictEqual(lines.length, 3)
        assert.isTrue(lines.every((l) => l["status"] === "success"))
      })
    ).pipe(Effect.provide(NodeContext.layer)))

  it.effect("bad JSONL lines are failed items with their line numbers; the run goes on", () =>
    withDir((dir) =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const input = `${dir}/items.jsonl`
        const output = `${dir}/results.jsonl`
        yield* fs.writeFileString(
          input,
          [
            JSON.stringify({ request: "latte", mood: "happy", priority: 1 }),
            "{\"request\": \"tea\", \"mood\": ", // line 2: malformed
            "",
            JSON.stringify({ request: "mocha", mood: "angry", priority: 2 }), // line 4: not a mood
            JSON.stringify({ mood: "upset", priority: 3 }), // line 5: no request
            "[1, 2]", // line 6: not an object
            JSON.stringify({ id: "x-7", request: "water", mood: "neutral", priority: 3, extra: "ignored" })
          ].join("\n")
        )
        const lm = ScriptedLm.make(() => ScriptedLm.reply({ reply: "coming up" }))
        const summary = yield* Batch.runFile(triage, { input, output }).pipe(Effect.provide(lm.layer))
        assert.strictEqual(lm.counters.calls, 2)
        assert.strictEqual(summary.succeeded, 2)
        assert.deepStrictEqual(summary.failedByKind, { MalformedLine: 2, InvalidInput: 2 })
        const { lines } = yield* readLines(output)
        const byLine = new Map(lines.map((l) => [l["line"], l]))
        const error = (line: number) => (byLine.get(line)?.["error"] as { kind: string; message: string } | undefined)
        assert.strictEqual(error(2)?.kind, "MalformedLine")
        assert.match(error(2)!.message, /^line 2: not valid JSON/)
        assert.strictEqual(error(4)?.kind, "InvalidInput")
        assert.match(error(4)!.message, /^line 4: field "mood"/)
        assert.match(error(5)!.message, /^line 5: field "request" is missing/)
        assert.match(error(6)!.message, /^line 6: expected a JSON object/)
        assert.strictEqual(byLine.get(7)?.["id"], "x-7")
        assert.strictEqual(byLine.get(7)?.["status"], "success")
        assert.deepStrictEqual(byLine.get(7)?.["input"], { request: "water", mood: "neutral", priority: 3 })
      })
    ).pipe(Effect.provide(NodeContext.layer)))

  it.effect("CSV: rows missing a column are failed items with their line numbers", () =>
    withDir((dir) =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const input = `${dir}/items.csv`
        const output = `${dir}/results.jsonl`
        yield* fs.writeFileString(
          input,
          [
            "request,mood,priority",
            "latte,happy,1",
            "\"tea, with milk\",neutral", // line 3: a column short
            "\"a long",
            "order\",upset,2", // a quoted field over two lines (starts on line 4)
            "mocha,happy,high" // line 6: priority is not a number
          ].join("\r\n") + "\r\n"
        )
        assert.strictEqual(yield* Input.count(input), 4)
        const lm = ScriptedLm.make(() => ScriptedLm.reply({ reply: "ok" }))
        const summary = yield* Batch.runFile(triage, { input, output }).pipe(Effect.provide(lm.layer))
        assert.strictEqual(summary.succeeded, 2)
        assert.deepStrictEqual(summary.failedByKind, { MissingColumn: 1, InvalidInput: 1 })
        const { lines } = yield* readLines(output)
        const byLine = new Map(lines.map((l) => [l["line"], l]))
        assert.match((byLine.get(3)?.["error"] as { message: string }).message, /^line 3: expected 3 columns .* missing priority/)
        assert.deepStrictEqual(byLine.get(4)?.["input"], { request: "a long\norder", mood: "upset", priority: 2 })
        assert.match((byLine.get(6)?.["error"] as { message: string }).message, /^line 6: field "priority"/)
      })
    ).pipe(Effect.provide(NodeContext.layer)))

  it.effect("a cache file reads hits from disk; another writer's lines make a lookup miss, never answer wrong", () =>
    withDir((dir) =>
      Effect.gen(function*() {
        const path = `${dir}/cache.jsonl`
        const entry = (answer: string): Cache.Entry => ({
          output: { answer },
          usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2, lmCalls: 1 }
        })
        yield* Effect.scoped(Effect.gen(function*() {
          const a = yield* Cache.file(path)
          const b = yield* Cache.file(path) // as if another process
          yield* a.set("k1", entry("one"))
          assert.deepStrictEqual(yield* a.get("k1"), entry("one"))
          // answers of one length: a position that is off lands on a whole (wrong) line
          yield* b.set("k2", entry("two"))
          // a does not know of b's line: the position it records for k3 is off
          yield* a.set("k3", entry("ten"))
          assert.deepStrictEqual(yield* a.get("k1"), entry("one"))
          assert.strictEqual(yield* a.get("k3"), undefined)
          assert.strictEqual(yield* a.get("k2"), undefined)
          assert.strictEqual(yield* a.get("missing"), undefined)
        }))
        // opened again, the file is indexed exactly
        const again = yield* Effect.scoped(Effect.gen(function*() {
          const c = yield* Cache.file(path)
          return { size: yield* c.size, k1: yield* c.get("k1"), k2: yield* c.get("k2"), k3: yield* c.get("k3") }
        }))
        assert.deepStrictEqual(again, { size: 3, k1: entry("one"), k2: entry("two"), k3: entry("ten") })
      })
    ).pipe(Effect.provide(NodeContext.layer)))

  it.effect("a cache file survives across runs and tolerates a torn line", () =>
    withDir((dir) =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const path = `${dir}/cache.jsonl`
        const lm = ScriptedLm.make((q) => ScriptedLm.reply({ answer: `a-${q}` }))
        const inputs = [{ question: "q1" }, { question: "q2" }]
        yield* Effect.scoped(Effect.flatMap(Cache.file(path), (cache) => Batch.run(qa, inputs, { cache }))).pipe(
          Effect.provide(lm.layer)
        )
        yield* fs.writeFile(path, new TextEncoder().encode("{\"key\":\"tor"), { flag: "a" })
        const { outcomes } = yield* Effect.scoped(
          Effect.flatMap(Cache.file(path), (cache) => Batch.run(qa, [...inputs, { question: "q3" }], { cache }))
        ).pipe(Effect.provide(lm.layer))
        assert.strictEqual(lm.counters.calls, 3)
        assert.strictEqual(outcomes.filter((o) => o._tag === "Success" && o.cached === "disk").length, 2)
        const lines = (yield* fs.readFileString(path)).split("\n").filter((l) => l !== "")
        assert.strictEqual(lines.filter((l) => l.startsWith("{\"key\":\"tor")).length, 1)
        assert.strictEqual(lines.length, 4)
      })
    ).pipe(Effect.provide(NodeContext.layer)))
})
