import { assert, describe, it } from "@effect/vitest"
import { readFileSync } from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

// Every TypeScript block of the README is a file under examples/readme, which `pnpm typecheck`
// checks; this test keeps the README's copy identical, so the docs cannot rot.
const root = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..")
const readme = readFileSync(Path.join(root, "README.md"), "utf8")

const blocks = [...readme.matchAll(/(?:<!-- file: ([^\s]+) -->\n)?```ts\n([\s\S]*?)```/g)].map((m) => ({
  file: m[1],
  code: m[2]!
}))

describe("README", () => {
  it("has TypeScript blocks", () => {
    assert.isAbove(blocks.length, 3)
  })

  for (const [index, block] of blocks.entries()) {
    it(`block ${index + 1} is ${block.file ?? "(no file)"}, verbatim`, () => {
      assert.isDefined(block.file, "every ts block must be preceded by <!-- file: examples/readme/... -->")
      const source = readFileSync(Path.join(root, block.file!), "utf8")
      assert.strictEqual(block.code.trim(), source.trim())
    })
  }
})
