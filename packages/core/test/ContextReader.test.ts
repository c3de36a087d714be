/**
 * The reference reader used on the hot path reads what `Context.get` reads.
 */
import { assert, describe, it } from "@effect/vitest"
import { Context } from "effect"
import { referenceReader } from "../src/internal/context.js"

class Level extends Context.Reference<Level>()("test/Level", { defaultValue: (): { readonly n: number } => ({ n: 1 }) }) {}
class Maybe extends Context.Reference<Maybe>()("test/Maybe", { defaultValue: (): string | undefined => "default" }) {}

describe("referenceReader", () => {
  it("reads the value in context, else the default Context.get hands out", () => {
    const readLevel = referenceReader(Level)
    const empty = Context.empty()
    assert.strictEqual(readLevel(empty), Context.get(empty, Level))
    const set = Context.make(Level, { n: 5 })
    assert.deepStrictEqual(readLevel(set), { n: 5 })
    assert.strictEqual(readLevel(set), Context.get(set, Level))
  })

  it("a value set to undefined is undefined, not the default", () => {
    const readMaybe = referenceReader(Maybe)
    assert.strictEqual(readMaybe(Context.empty()), "default")
    assert.strictEqual(readMaybe(Context.make(Maybe, undefined)), undefined)
    assert.strictEqual(Context.get(Context.make(Maybe, undefined), Maybe), undefined)
  })
})
