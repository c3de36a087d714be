import * as Cli from "@effect-dspy/cli/Cli"
import * as FileSystem from "@effect/platform/FileSystem"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { afterEach, assert, beforeEach, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect } from "effect"
import { readFileSync } from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { type MockInstance, vi } from "vitest"

// The README's shell block for the batch command line is run here as written (offline, on the
// simulator), with only the output file moved to a temporary directory, so that its commands
// and flags cannot rot.
const root = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..")
const readme = readFileSync(Path.join(root, "README.md"), "utf8")

const commands = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)]
  .flatMap((m) => m[1]!.split("\n"))
  .map((line) => line.replace(/#.*$/, "").trim())
  .filter((line) => line.startsWith("pnpm exec effect-dspy "))
  .map((line) => line.slice("pnpm exec effect-dspy ".length).split(/\s+/))

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

const run = (args: ReadonlyArray<string>) =>
  Cli.run(["node", "effect-dspy", ...args]).pipe(
    // nothing from the machine's environment: no key, so the simulator answers
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map())),
    Effect.provide(NodeContext.layer)
  )

const lines = (text: string) => text.trim().split("\n").filter((line) => line.trim() !== "")

describe("README batch commands", () => {
  it("shows a batch run and an example mode", () => {
    assert.deepStrictEqual(commands.map((args) => args[0]), ["batch", "example"])
  })

  it.live("the batch command runs as written and accounts for every input line", () =>
    Effect.scoped(Effect.gen(function*() {
      const args = commands.find((a) => a[0] === "batch")!
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      const outputAt = args.indexOf("--output")
      assert.isAbove(outputAt, 0, "the README's batch command names its --output")
      const output = Path.join(dir, "results.jsonl")
      const written = args.map((arg, i) => (i === outputAt + 1 ? output : arg))
      const inputAt = written.indexOf("--input")
      const input = Path.join(root, written[inputAt + 1]!)
      const absolute = written.map((arg, i) => (i === inputAt + 1 ? input : arg))
      const code = yield* run(absolute)
      assert.strictEqual(code, 0)
      const expected = lines(yield* fs.readFileString(input)).length
      const results = lines(yield* fs.readFileString(output)).map((line) => JSON.parse(line) as { readonly _tag?: string })
      assert.strictEqual(results.length, expected)
    })).pipe(Effect.provide(NodeContext.layer)), 120_000)

  it.live("the example mode runs as written", () =>
    Effect.gen(function*() {
      const code = yield* run(commands.find((a) => a[0] === "example")!)
      assert.strictEqual(code, 0)
      assert.match(out.mock.calls.map((c) => c.join(" ")).join("\n"), /429/)
    }), 120_000)
})
