/**
 * The `drift` option: replies written with the near-misses real models write. The law: every
 * drifting rendering reads back to the same values under the lenient rules of issue 15 (a
 * reference reader written here); and which replies drift, and how, follows from the seed.
 */
import { LanguageModel } from "@effect/ai"
import { assert, describe, it } from "@effect/vitest"
import { Effect, FastCheck as fc } from "effect"
import type { OutputField } from "../src/Script.js"
import { Simulator, SimulatorServer } from "../src/index.js"
import * as Drift from "../src/internal/answer/drift.js"
import { makeRng } from "../src/internal/rng.js"
import { system, triageSystem, triageUser, userInputs } from "./fixtures.js"
import { post } from "./http.js"

const MEMBERS = ["billing", "Tech", "refund-request", "other"]

const field = (name: string, schema: Record<string, unknown>, isText: boolean): OutputField => ({
  name,
  label: "",
  description: undefined,
  schema,
  isText
})

const fields = {
  reasoning: field("reasoning", { type: "string" }, true),
  category: field("category", { type: "string", enum: MEMBERS }, true),
  score: field("score", { type: "number" }, false),
  urgent: field("urgent", { type: "boolean" }, false),
  people: field("people", { type: "array", items: { type: "object" } }, false),
  note: field("note", { anyOf: [{ type: "string" }, { type: "null" }] }, false)
}

/** A reference reader with issue 15's leniency, written from the rules (not from core). */
const lenient = (f: OutputField, raw: string): unknown => {
  const t = raw.trim()
  const schema = f.schema
  if (Array.isArray(schema["enum"])) {
    const bare = t.replace(/^['"]|['"]$/g, "").replace(/[.!]$/, "")
    return (schema["enum"] as Array<string>).find((m) => m.toLowerCase() === bare.toLowerCase())
  }
  if (f.isText) return t
  if (schema["type"] === "number") return Number(t.replace(/^"|"$/g, "").replace(/\s+[a-z ]+$/, ""))
  if (schema["type"] === "boolean") return /^(true|yes)$/i.test(t) ? true : /^(false|no)$/i.test(t) ? false : t
  return readJson(t)
}

/** JSON with a trailing comma, or a Python literal (whose strings hold no quotes). */
const readJson = (text: string): unknown => {
  try {
    return JSON.parse(text.replace(/,\s*([\]}])$/, "$1"))
  } catch {
    return JSON.parse(
      text.replace(/'/g, "\"").replace(/\bNone\b/g, "null").replace(/\bTrue\b/g, "true").replace(/\bFalse\b/g, "false")
    )
  }
}

const ASIDE = / ?I will write \[\[ ## [a-z]+ ## \]\] next\./

/** Reads a field-marker (or whole-JSON) reply: markers count only at the start of a line. */
const read = (reply: string, of: ReadonlyArray<OutputField>): Record<string, unknown> => {
  const body = reply.replace(/^<think>[\s\S]*?<\/think>\s*/, "").trim()
  if (body.startsWith("{")) return JSON.parse(body) as Record<string, unknown>
  const out: Record<string, unknown> = {}
  const parts = body.split(/^\[\[ ## ([a-z_]+) ## \]\]$/m)
  for (let i = 1; i < parts.length; i += 2) {
    const f = of.find((x) => x.name === parts[i])
    if (f !== undefined) out[f.name] = lenient(f, f.isText ? parts[i + 1]!.replace(ASIDE, "") : parts[i + 1]!)
  }
  return out
}

const sentence = fc.array(fc.constantFrom("Coffee", "is", "hot.", "Tea", "too.", "Then", "milk"), { minLength: 1, maxLength: 8 })
  .map((w) => w.join(" "))
const values = fc.record({
  reasoning: sentence,
  category: fc.constantFrom(...MEMBERS),
  score: fc.oneof(fc.integer({ min: -1000, max: 1000 }), fc.double({ min: -100, max: 100, noNaN: true, noDefaultInfinity: true })),
  urgent: fc.boolean(),
  people: fc.array(fc.record({ name: fc.stringMatching(/^[A-Za-z]{1,8}$/), age: fc.integer({ min: 0, max: 99 }) }), {
    maxLength: 3
  }),
  note: fc.constantFrom(null)
}).map((v) => JSON.parse(JSON.stringify(v)) as typeof v) // as a model writes them: no -0

describe("drift", () => {
  it.prop("every drifting field-marker reply reads back to the same values", [values, fc.integer()], ([v, seed]) => {
    const of = Object.values(fields)
    const rendered = of.map((f) => {
      const value = v[f.name as keyof typeof v]
      return { field: f, value, rendered: typeof value === "string" ? value : JSON.stringify(value) }
    })
    const reply = Drift.fieldMarkers(rendered, makeRng(seed))
    const back = read(reply, of)
    for (const f of of) {
      const expected = v[f.name as keyof typeof v]
      if (f.isText && !Array.isArray(f.schema["enum"])) {
        assert.strictEqual(String(back[f.name]).replace(/\s+/g, " ").trim(), String(expected).replace(/\s+/g, " ").trim(), reply)
      } else {
        assert.deepStrictEqual(back[f.name], expected, reply)
      }
    }
  })

  it.prop("every drifting JSON reply reads back to the same value", [fc.jsonValue({ maxDepth: 3 }), fc.integer()], ([value, seed]) => {
    const reply = Drift.json(value, makeRng(seed)).replace(/^<think>[\s\S]*?<\/think>\s*/, "")
    assert.deepStrictEqual(readJson(reply), JSON.parse(JSON.stringify(value)))
  })

  it.effect("the same seed drifts the same replies the same way; another seed drifts others", () =>
    Effect.gen(function*() {
      const prompts = Array.from({ length: 30 }, (_, i) => [
        { role: "system" as const, content: system },
        { role: "user" as const, content: userInputs(`Question ${i}?`, "happy") }
      ])
      const run = (seed: number) =>
        Effect.forEach(prompts, (prompt) => Effect.map(LanguageModel.generateText({ prompt }), (r) => r.text)).pipe(
          Effect.provide(Simulator.layer({ seed, drift: 0.5 }))
        )
      const a = yield* run(1)
      assert.deepStrictEqual(yield* run(1), a)
      assert.notDeepEqual(yield* run(2), a)
      const instance = yield* Simulator.makeInstance({ seed: 1, drift: 0.5 })
      yield* Effect.forEach(prompts, (prompt) => instance.languageModel.generateText({ prompt }))
      const drifted = (yield* instance.counters).drifted
      assert.isAbove(drifted, 5)
      assert.isBelow(drifted, 25)
    }))

  it.effect("a drifting model writes each family of near-misses", () =>
    Effect.gen(function*() {
      const texts = yield* Effect.forEach(Array.from({ length: 80 }, (_, i) => i), (i) =>
        Effect.map(
          LanguageModel.generateText({
            prompt: [{ role: "system", content: triageSystem }, { role: "user", content: triageUser(`Request number ${i}`) }]
          }),
          (r) => r.text
        )).pipe(Effect.provide(Simulator.layer({ drift: 1 })))
      const all = texts.join("\n----\n")
      const seen = {
        quoted: /\[\[ ## priority ## \]\]\n['"](low|high)['"]\n/.test(all),
        cased: /\[\[ ## priority ## \]\]\n(Low|High)\n/.test(all),
        period: /\[\[ ## priority ## \]\]\n(low|high)\.\n/.test(all),
        python: /\{'_tag': '/.test(all),
        trailingComma: /,\]|,\}/.test(all),
        wholeJson: texts.some((t) => t.replace(/^<think>[\s\S]*?<\/think>\s*/, "").startsWith("{")),
        think: texts.some((t) => t.startsWith("<think>")),
        midLineMarker: /\S I will write \[\[ ## [a-z]+ ## \]\] next\./.test(all)
      }
      assert.deepStrictEqual(seen, {
        quoted: true,
        cased: true,
        period: true,
        python: true,
        trailingComma: true,
        wholeJson: true,
        think: true,
        midLineMarker: true
      })
    }))

  it.effect("numbers drift as strings or with a unit", () =>
    Effect.gen(function*() {
      const texts = yield* Effect.forEach(Array.from({ length: 40 }, (_, i) => i), (i) =>
        Effect.map(
          LanguageModel.generateText({
            prompt: [{ role: "system", content: system }, { role: "user", content: userInputs(`How much is ${i}?`, "upset") }]
          }),
          (r) => r.text
        )).pipe(Effect.provide(Simulator.layer({ drift: 1, seed: 3 })))
      const all = texts.join("\n")
      assert.match(all, /\[\[ ## answer ## \]\]\n"-?[\d.]+"\n/)
      assert.match(all, /\[\[ ## answer ## \]\]\n-?[\d.]+ (points|units|in total)\n/)
    }))

  it.effect("the server drifts too, the same way for the same request and seed", () =>
    Effect.gen(function*() {
      const messages = [{ role: "system", content: triageSystem }, { role: "user", content: triageUser("Cold latte") }]
      const ask = (options: SimulatorServer.Options) =>
        Effect.flatMap(SimulatorServer.SimulatorServer, (server) =>
          Effect.map(
            Effect.zip(post(`${server.url}/v1/chat/completions`, { model: "m", messages }), server.counters),
            ([r, counters]) => [JSON.parse(r.text).choices[0].message.content as string, counters.drifted] as const
          )).pipe(Effect.provide(SimulatorServer.layer(options)))
      const [clean, none] = yield* ask({ seed: 4 })
      const [drifting, once] = yield* ask({ seed: 4, drift: 1 })
      assert.deepStrictEqual([none, once], [0, 1])
      assert.notStrictEqual(drifting, clean)
      assert.strictEqual((yield* ask({ seed: 4, drift: 1 }))[0], drifting)
    }))
})
