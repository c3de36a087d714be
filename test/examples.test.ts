import { assert, describe, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"

// The examples run as a newcomer runs them (tsx, no API key: the offline simulator).
const root = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..")
const run = (script: string, args: ReadonlyArray<string> = []) => {
  const env: NodeJS.ProcessEnv = { ...process.env }
  for (const key of ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "EFFECT_DSPY_MODEL", "OPENAI_COMPATIBLE_BASE_URL"]) delete env[key]
  // and no tracing destination, so the telemetry example prints its span tree
  for (const key of Object.keys(env)) if (key.startsWith("OTEL_") || key.startsWith("LANGFUSE_")) delete env[key]
  return promisify(execFile)(process.execPath, ["--import", "tsx", script, ...args], { cwd: root, env, timeout: 120_000 })
}

describe("examples", () => {
  it("the coffee shop serves four customers with typed actions, offline", { timeout: 120_000 }, async () => {
    const { stderr, stdout } = await run("examples/coffee-shop/main.ts")
    assert.include(stderr + stdout, "using the offline simulator")
    // every customer gets the right action, in both runs, although half the replies drift
    for (const [customer, tag] of [["happy, morning", "MakeDrink"], ["upset, afternoon", "RefundOrder"], ["upset, evening", "CallManager"], ["neutral, afternoon", "Joke"]]) {
      assert.include(stdout, `[${customer}] ${tag}: {"_tag":"${tag}"`)
    }
    for (const tag of ["MakeDrink", "RefundOrder", "CallManager", "Joke"]) assert.match(stdout, new RegExp(`\\] ${tag} in [\\d.]+ s`))
    // the drift is real: the adapter accepted at least one near-miss and says which
    assert.match(stdout, /near-misses accepted: \w+ \([a-z-]+: /)
    assert.match(stdout, /speedup [\d.]+x \(ideal [\d.]+x/)
    // whether the run was within 1% is printed, never asserted: timings are not tested
    assert.match(stdout, /(Within|NOT within) 1% of the ideal speedup \([\d.]+% off\)/)
  })

  it("the telemetry example prints the spans it would export, as a tree", { timeout: 120_000 }, async () => {
    const { stdout } = await run("examples/telemetry/main.ts")
    assert.include(stdout, "exporting to a local OTLP receiver")
    assert.match(stdout, /^13 spans exported:$/m)
    assert.match(stdout, /^coffee-shop shift {2}\[internal\]/m)
    assert.strictEqual(stdout.match(/─ serve customer {2}\[internal\]/g)?.length, 4)
    assert.strictEqual(stdout.match(/─ ChainOfThought\(CoffeeShopTriage\) {2}\[internal, langfuse chain\]/g)?.length, 4)
    assert.strictEqual(stdout.match(/─ chat sim-1 {2}\[client, langfuse generation\]/g)?.length, 4)
    for (const attribute of ["langfuse.session.id=shift-2026-11-29", "gen_ai.request.model=sim-1", "gen_ai.usage.input_tokens="]) {
      assert.include(stdout, attribute)
    }
  })

  it("optimization raises the scripted model's score", { timeout: 120_000 }, async () => {
    const { stdout } = await run("examples/optimize/main.ts", ["bootstrap"])
    const before = Number(/before: ([\d.]+)%/.exec(stdout)?.[1])
    const after = Number(/after bootstrap: ([\d.]+)%/.exec(stdout)?.[1])
    assert.isBelow(before, 50)
    assert.isAbove(after, before)
  })

  it("the README's first tour block runs", { timeout: 120_000 }, async () => {
    const { stdout } = await run("examples/readme/01-predict.ts")
    assert.match(stdout, /category: '(billing|bug|feature|other)'/)
  })

  it("the README's streaming block streams a module, then two conversation turns", { timeout: 120_000 }, async () => {
    const { stdout } = await run("examples/readme/07-streaming.ts")
    assert.match(stdout, /\(\d+ tokens\)\n> What is a flat white\?\n.+\n> How is a cortado different\?\n.+/)
  })
})
