/**
 * Identity of file items: fallback ids in their own namespace (`line:N`), duplicate and reserved
 * ids as typed failure lines naming the lines, bytes that are not UTF-8 as a typed failure; no
 * valid item is ever skipped or blocked on resume.
 */
import { Predict, Signature } from "@effect-dspy/core"
import * as FileSystem from "@effect/platform/FileSystem"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Stream } from "effect"
import { Batch, Input } from "../src/index.js"
import * as ScriptedLm from "./utils/ScriptedLm.js"

const qa = Predict.make(Signature.fromString("question -> answer"))

type Line = Record<string, unknown>

const readLines = (path: string) =>
  Effect.map(
    Effect.flatMap(FileSystem.FileSystem, (fs) => fs.readFileString(path)),
    (text) => text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Line)
  )

const withDir = <A, E, R>(f: (dir: string) => Effect.Effect<A, E, R>) =>
  Effect.scoped(Effect.flatMap(FileSystem.FileSystem, (fs) => Effect.flatMap(fs.makeTempDirectoryScoped(), f)))

const errorOf = (line: Line | undefined) => line?.["error"] as { kind: string; message: string } | undefined

describe("item ids", () => {
  it.effect("a malformed line takes line:N, never the id another line wrote; resumed, nothing is skipped or blocked", () =>
    withDir((dir) =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const input = `${dir}/items.jsonl`
        const output = `${dir}/out.jsonl`
        // 0-based ids: line 3 is malformed, the item with id 3 is on line 4
        yield* fs.writeFileString(input, [
          JSON.stringify({ id: 0, question: "q0" }),
          JSON.stringify({ id: 1, question: "q1" }),
          "{\"id\": 2, \"question\": ",
          JSON.stringify({ id: 3, question: "q3" }),
          JSON.stringify({ question: "no id" })
        ].join("\n") + "\n")
        const lm = ScriptedLm.make((q) => ScriptedLm.reply({ answer: `a-${q}` }))
        const summary = yield* Batch.runFile(qa, { input, output }).pipe(Effect.provide(lm.layer))
        assert.deepStrictEqual([...lm.counters.questions].sort(), ["no id", "q0", "q1", "q3"])
        assert.strictEqual(summary.succeeded, 4)
        assert.deepStrictEqual(summary.failedByKind, { MalformedLine: 1 })
        const lines = yield* readLines(output)
        const byId = new Map(lines.map((l) => [l["id"], l]))
        assert.deepStrictEqual([...byId.keys()].sort(), ["0", "1", "3", "line:3", "line:5"])
        assert.strictEqual(byId.get("3")?.["status"], "success")
        assert.strictEqual(errorOf(byId.get("line:3"))?.kind, "MalformedLine")

        // the line fixed, a resumed run runs it (the old failure line does not block it) and
        // leaves one line per item
        yield* fs.writeFileString(input, [
          JSON.stringify({ id: 0, question: "q0" }),
          JSON.stringify({ id: 1, question: "q1" }),
          JSON.stringify({ id: 2, question: "q2" }),
          JSON.stringify({ id: 3, question: "q3" }),
          JSON.stringify({ question: "no id" })
        ].join("\n") + "\n")
        const again = yield* Batch.runFile(qa, { input, output }).pipe(Effect.provide(lm.layer))
        assert.strictEqual(again.resumed, 4)
        assert.strictEqual(again.succeeded, 1)
        assert.strictEqual(lm.counters.calls, 5)
        const after = yield* readLines(output)
        assert.deepStrictEqual(after.map((l) => String(l["id"])).sort(), ["0", "1", "2", "3", "line:5"])
        assert.isTrue(after.every((l) => l["status"] === "success"))
      })
    ).pipe(Effect.provide(NodeContext.layer)))

  it.effect("a duplicate id is a DuplicateId line naming both lines; resumed, it is reported again, not skipped", () =>
    withDir((dir) =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const input = `${dir}/items.jsonl`
        const output = `${dir}/out.jsonl`
        yield* fs.writeFileString(input, [
          JSON.stringify({ id: "a", question: "first" }),
          JSON.stringify({ id: "b", question: "other" }),
          JSON.stringify({ id: "a", question: "second" }),
          JSON.stringify({ id: "line:1", question: "reserved" })
        ].join("\n") + "\n")
        const lm = ScriptedLm.make((q) => ScriptedLm.reply({ answer: q }))
        const summary = yield* Batch.runFile(qa, { input, output }).pipe(Effect.provide(lm.layer))
        assert.deepStrictEqual([...lm.counters.questions].sort(), ["first", "other"])
        assert.deepStrictEqual(summary.failedByKind, { DuplicateId: 1, InvalidId: 1 })
        const lines = yield* readLines(output)
        const byLine = new Map(lines.map((l) => [l["line"], l]))
        assert.strictEqual(byLine.get(3)?.["id"], "line:3")
        assert.strictEqual(errorOf(byLine.get(3))?.kind, "DuplicateId")
        assert.strictEqual(errorOf(byLine.get(3))?.message, "line 3: the id \"a\" is already used by line 1")
        assert.strictEqual(errorOf(byLine.get(4))?.kind, "InvalidId")
        assert.match(errorOf(byLine.get(4))!.message, /^line 4: the id "line:1" is reserved/)
        assert.strictEqual(byLine.get(4)?.["id"], "line:4")

        const again = yield* Batch.runFile(qa, { input, output }).pipe(Effect.provide(lm.layer))
        assert.strictEqual(lm.counters.calls, 2)
        assert.strictEqual(again.resumed, 2)
        assert.deepStrictEqual(again.failedByKind, { DuplicateId: 1, InvalidId: 1 })
        const after = yield* readLines(output)
        assert.strictEqual(after.length, 4)
        assert.strictEqual(new Set(after.map((l) => l["id"])).size, 4)
      })
    ).pipe(Effect.provide(NodeContext.layer)))

  it.effect("a line that is not UTF-8 is a MalformedLine failure with its line number (JSONL and CSV)", () =>
    withDir((dir) =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const encode = (text: string) => new TextEncoder().encode(text)
        const bytes = (...parts: ReadonlyArray<Uint8Array | string>) => {
          const chunks = parts.map((p) => (typeof p === "string" ? encode(p) : p))
          const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0))
          let at = 0
          for (const c of chunks) {
            out.set(c, at)
            at += c.length
          }
          return out
        }
        const latin1 = new Uint8Array([0x63, 0x61, 0x66, 0xe9]) // "café" in Latin-1
        yield* fs.writeFile(`${dir}/items.jsonl`, bytes("{\"question\": \"ok\"}\n{\"question\": \"", latin1, "\"}\n{\"question\": \"caf\u00e9\"}\n"))
        const jsonl = Chunk.toReadonlyArray(yield* Stream.runCollect(Input.readFile(`${dir}/items.jsonl`)))
        assert.deepStrictEqual(jsonl.map((e) => e._tag), ["Item", "Invalid", "Item"])
        const bad = jsonl[1]!
        assert(bad._tag === "Invalid")
        assert.deepStrictEqual(bad.error, { kind: "MalformedLine", message: "line 2: not valid UTF-8" })
        assert.strictEqual(bad.id, "line:2")
        const good = jsonl[2]!
        assert(good._tag === "Item")
        assert.deepStrictEqual(good.input, { question: "caf\u00e9" })

        yield* fs.writeFile(`${dir}/items.csv`, bytes("question\r\nfine\r\n", latin1, "\r\n"))
        const csv = Chunk.toReadonlyArray(yield* Stream.runCollect(Input.readFile(`${dir}/items.csv`)))
        assert.deepStrictEqual(csv.map((e) => e._tag), ["Item", "Invalid"])
        assert.deepStrictEqual((csv[1] as Input.Invalid).error, { kind: "MalformedLine", message: "line 3: not valid UTF-8" })
      })
    ).pipe(Effect.provide(NodeContext.layer)))
})
