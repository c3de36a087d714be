import { assert, describe, it } from "@effect/vitest"
import * as FileSystem from "@effect/platform/FileSystem"
import { Effect, Exit, Option, Schema } from "effect"
import { Checkpoint } from "../src/index.js"
import { checkpointer } from "../src/internal/checkpoint.js"

// A file system in a Map, recording the operations made on it.
const memoryFileSystem = () => {
  const files = new Map<string, string>()
  const operations: Array<string> = []
  const layer = FileSystem.layerNoop({
    exists: (path) => Effect.sync(() => files.has(path)),
    readFileString: (path) => Effect.sync(() => files.get(path) ?? ""),
    writeFileString: (path, data) =>
      Effect.sync(() => {
        operations.push(`write ${path}`)
        files.set(path, data)
      }),
    rename: (from, to) =>
      Effect.sync(() => {
        operations.push(`rename ${from} ${to}`)
        files.set(to, files.get(from)!)
        files.delete(from)
      })
  })
  return { files, layer, operations }
}

describe("Checkpoint", () => {
  it.effect("a file checkpoint is written beside itself and renamed over the old one, then read back", () =>
    Effect.gen(function*() {
      const fs = memoryFileSystem()
      const store = yield* Checkpoint.file("run.json").pipe(Effect.provide(fs.layer))
      assert.isTrue(Option.isNone(yield* store.load))
      yield* store.save("{\"a\":1}")
      yield* store.save("{\"a\":2}")
      assert.deepStrictEqual(fs.operations, ["write run.json.tmp", "rename run.json.tmp run.json", "write run.json.tmp", "rename run.json.tmp run.json"])
      assert.deepStrictEqual(yield* store.load, Option.some("{\"a\":2}"))
      assert.isFalse(fs.files.has("run.json.tmp"))
    }))

  it.effect("a write that fails is a CheckpointError naming the file", () =>
    Effect.gen(function*() {
      const store = yield* Checkpoint.file("run.json").pipe(Effect.provide(FileSystem.layerNoop({})))
      const exit = yield* Effect.exit(store.save("{}"))
      assert.isTrue(Exit.isFailure(exit) && String(exit.cause).includes("checkpoint run.json: cannot write"))
    }))

  it.effect("a checkpoint of another format is refused by name; a torn one as unreadable, never resumed", () =>
    Effect.gen(function*() {
      const saved = yield* Checkpoint.memory()
      const run = checkpointer(saved, "Gepa", "f1", Schema.Struct({ step: Schema.Number }))
      yield* run.save({ step: 3 }, { inputTokens: 1, outputTokens: 1, totalTokens: 2, cachedInputTokens: 0, reasoningTokens: 0, lmCalls: 1, cachedCalls: 0 })
      const text = Option.getOrThrow(yield* saved.load)
      assert.deepStrictEqual(Option.map(yield* run.resume, (r) => r.state), Option.some({ step: 3 }))

      const later = yield* Checkpoint.memory(text.replace("\"version\":1", "\"version\":2"))
      const refused = yield* Effect.exit(checkpointer(later, "Gepa", "f1", Schema.Struct({ step: Schema.Number })).resume)
      assert.isTrue(Exit.isFailure(refused) && String(refused.cause).includes("CheckpointMismatch"))
      assert.isTrue(Exit.isFailure(refused) && String(refused.cause).includes("checkpoint format 2, and this version of @effect-dspy/optimize reads format 1"))

      const torn = yield* Checkpoint.memory(text.slice(0, text.length / 2))
      const unreadable = yield* Effect.exit(checkpointer(torn, "Gepa", "f1", Schema.Struct({ step: Schema.Number })).resume)
      assert.isTrue(Exit.isFailure(unreadable) && String(unreadable.cause).includes("unreadable, so not resumed"))
    }))
})
