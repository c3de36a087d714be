import { assert, describe, it } from "@effect/vitest"
import { readFileSync } from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

// Each TypeScript block of this README that names a file (`<!-- file: examples/... -->`) is
// that file, which `pnpm typecheck` checks: the docs cannot rot.
const root = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "../../..")
const readme = readFileSync(Path.join(root, "packages/core/README.md"), "utf8")
const blocks = [...readme.matchAll(/<!-- file: ([^\s]+) -->\n```ts\n([\s\S]*?)```/g)].map((m) => ({ file: m[1]!, code: m[2]! }))

describe("core README", () => {
  it("has checked blocks", () => {
    assert.isAtLeast(blocks.length, 6)
  })
  for (const block of blocks) {
    it(`${block.file} is verbatim`, () => {
      assert.strictEqual(block.code.trim(), readFileSync(Path.join(root, block.file), "utf8").trim())
    })
  }
})
