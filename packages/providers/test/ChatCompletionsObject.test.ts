/**
 * generateObject's decoding of the reply: synchronous schemas, and schemas whose decoding
 * needs a service (decoded by the Effect decoder, with the service from the call's context).
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer, ParseResult, Redacted, Schema } from "effect"
import * as ChatCompletions from "../src/ChatCompletions.js"
import { chatCompletion, json, makeFakeFetch } from "./utils/fakeFetch.js"

const modelLayer = (fake: ReturnType<typeof makeFakeFetch>) =>
  ChatCompletions.layer({ model: "llama3", apiUrl: "http://127.0.0.1:1/v1", apiKey: Redacted.make("sk-x") }).pipe(
    Layer.provide(fake.layer)
  )

class Greeting extends Context.Tag("test/Greeting")<Greeting, string>() {}

// A reference has a default, so a decoder run without the caller's context would not fail:
// it would read the default.
class Unit extends Context.Reference<Unit>()("test/Unit", { defaultValue: () => "cm" }) {}
const Measured = Schema.transformOrFail(Schema.Number, Schema.String, {
  strict: true,
  decode: (n) => Effect.map(Unit, (unit) => `${n} ${unit}`),
  encode: (s) => ParseResult.fail(new ParseResult.Type(Schema.String.ast, s))
})

// A field whose decoding reads a service: the synchronous decoder refuses it.
const Greeted = Schema.transformOrFail(Schema.String, Schema.String, {
  strict: true,
  decode: (name) => Effect.map(Greeting, (greeting) => `${greeting}, ${name}`),
  encode: (s) => ParseResult.succeed(s)
})
const Person = Schema.Struct({ name: Greeted, age: Schema.Number })

describe("ChatCompletions.generateObject decoding", () => {
  it.effect("decodes a synchronous schema", () =>
    Effect.gen(function*() {
      const fake = makeFakeFetch([json(200, chatCompletion({ content: JSON.stringify({ age: 3 }) }))])
      const response = yield* LanguageModel.generateObject({ prompt: "Age?", schema: Schema.Struct({ age: Schema.Number }) }).pipe(
        Effect.provide(modelLayer(fake))
      )
      assert.deepStrictEqual(response.value, { age: 3 })
    }))

  it.effect("decodes a schema that needs a service, with the service in context", () =>
    Effect.gen(function*() {
      const fake = makeFakeFetch([json(200, chatCompletion({ content: JSON.stringify({ name: "Ada", age: 36 }) }))])
      const response = yield* LanguageModel.generateObject({ prompt: "Who?", schema: Person }).pipe(
        Effect.provide(modelLayer(fake)),
        Effect.provideService(Greeting, "Hello")
      )
      assert.deepStrictEqual(response.value, { name: "Hello, Ada", age: 36 })
    }))

  it.effect("a reply that does not conform fails with MalformedOutput carrying the ParseError", () =>
    Effect.gen(function*() {
      const fake = makeFakeFetch([json(200, chatCompletion({ content: JSON.stringify({ name: "Ada", age: "old" }) }))])
      const error = yield* LanguageModel.generateObject({ prompt: "Who?", schema: Person }).pipe(
        Effect.provide(modelLayer(fake)),
        Effect.provideService(Greeting, "Hello"),
        Effect.flip
      )
      assert.strictEqual(error._tag, "MalformedOutput")
      assert(error._tag === "MalformedOutput" && ParseResult.isParseError(error.cause))
    }))

  it.effect("a transformation reads the caller's references, and runs once", () =>
    Effect.gen(function*() {
      let runs = 0
      const Counted = Schema.transformOrFail(Schema.String, Schema.String, {
        strict: true,
        decode: (s) => Effect.sync(() => (runs++, s.toUpperCase())),
        encode: (s) => ParseResult.succeed(s)
      })
      const fake = makeFakeFetch([json(200, chatCompletion({ content: JSON.stringify({ height: 180, name: "ada" }) }))])
      const response = yield* LanguageModel.generateObject({
        prompt: "How tall?",
        schema: Schema.Struct({ height: Measured, name: Counted })
      }).pipe(Effect.provide(modelLayer(fake)), Effect.provideService(Unit, "in"))
      assert.deepStrictEqual(response.value, { height: "180 in", name: "ADA" })
      assert.strictEqual(runs, 1)
    }))
})
