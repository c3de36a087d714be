import * as LmConfig from "@effect-dspy/core/LmConfig"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Prompt from "@effect/ai/Prompt"
import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Layer, ParseResult, Redacted, Schema, Stream } from "effect"
import * as ChatCompletions from "../src/ChatCompletions.js"
import * as LmError from "../src/LmError.js"
import { chatCompletion, json, makeFakeFetch, sse, text, transportError } from "./utils/fakeFetch.js"

const modelLayer = (fake: ReturnType<typeof makeFakeFetch>, options: Partial<ChatCompletions.Options> = {}) =>
  ChatCompletions.layer({
    model: "llama3",
    apiUrl: "http://127.0.0.1:1/v1/",
    apiKey: Redacted.make("sk-compat-secret-123456"),
    ...options
  }).pipe(Layer.provide(fake.layer))

const GetWeather = Tool.make("GetWeather", {
  description: "Weather of a city",
  parameters: { city: Schema.String },
  success: Schema.String
})
const Weather = Toolkit.make(GetWeather)
const WeatherHandlers = Weather.toLayer({ GetWeather: ({ city }) => Effect.succeed(`sunny in ${city}`) })

describe("ChatCompletions", () => {
  it.effect("sends messages and settings, reads text, usage and finish reason", () =>
    Effect.gen(function*() {
      const fake = makeFakeFetch([json(200, chatCompletion({ content: "Hello there" }))])
      const response = yield* LanguageModel.generateText({
        prompt: Prompt.make([
          { role: "system", content: "Be brief." },
          { role: "user", content: [{ type: "text", text: "Hi" }] }
        ])
      }).pipe(
        LmConfig.withSettings({ temperature: 0.2, maxTokens: 64, seed: 7 }),
        Effect.provide(modelLayer(fake))
      )
      assert.strictEqual(response.text, "Hello there")
      assert.strictEqual(response.finishReason, "stop")
      assert.strictEqual(response.usage.inputTokens, 11)
      assert.strictEqual(response.usage.outputTokens, 7)
      assert.strictEqual(response.usage.totalTokens, 18)
      const request = fake.requests[0]!
      assert.strictEqual(request.url, "http://127.0.0.1:1/v1/chat/completions")
      assert.strictEqual(request.headers.authorization, "Bearer sk-compat-secret-123456")
      assert.deepStrictEqual(request.body, {
        model: "llama3",
        messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hi" }],
        temperature: 0.2,
        max_tokens: 64,
        seed: 7
      })
    }))

  it.effect("a per-call Config overrides the layer defaults and passes extra body fields", () =>
    Effect.gen(function*() {
      const fake = makeFakeFetch([json(200, chatCompletion({ content: "ok" }))])
      yield* LanguageModel.generateText({ prompt: "x" }).pipe(
        ChatCompletions.withConfigOverride({ temperature: 1, extraBody: { top_k: 40 } }),
        Effect.provide(modelLayer(fake, { config: { temperature: 0.5, max_tokens: 10 } }))
      )
      const body = fake.requests[0]!.body as Record<string, unknown>
      assert.strictEqual(body.temperature, 1)
      assert.strictEqual(body.max_tokens, 10)
      assert.strictEqual(body.top_k, 40)
    }))

  it.effect("structured output sends a strict json_schema response_format and decodes the object", () =>
    Effect.gen(function*() {
      const fake = makeFakeFetch([json(200, chatCompletion({ content: JSON.stringify({ name: "Ada", age: 36 }) }))])
      const Person = Schema.Struct({ name: Schema.String, age: Schema.Number }).annotations({
        description: "A person"
      })
      const response = yield* LanguageModel.generateObject({ prompt: "Who?", schema: Person, objectName: "person record" })
        .pipe(Effect.provide(modelLayer(fake)))
      assert.deepStrictEqual(response.value, { name: "Ada", age: 36 })
      const body = fake.requests[0]!.body as { response_format: unknown }
      assert.deepStrictEqual(body.response_format, {
        type: "json_schema",
        json_schema: {
          name: "person_record",
          description: "A person",
          strict: true,
          schema: {
            type: "object",
            required: ["name", "age"],
            properties: { name: { type: "string" }, age: { type: "number" } },
            additionalProperties: false,
            description: "A person"
          }
        }
      })
    }))

  it.effect("structured output that is not JSON or not the schema fails as MalformedOutput with the parse error", () =>
    Effect.gen(function*() {
      const fake = makeFakeFetch([
        json(200, chatCompletion({ content: "not json" })),
        json(200, chatCompletion({ content: JSON.stringify({ name: "Ada" }) })),
        json(200, chatCompletion({ content: JSON.stringify({ name: "Bob", age: 7 }) }))
      ])
      const Person = Schema.Struct({ name: Schema.String, age: Schema.Number })
      const generate = LanguageModel.generateObject({ prompt: "Who?", schema: Person, objectName: "person" }).pipe(
        Effect.provide(modelLayer(fake))
      )
      const notJson = yield* Effect.flip(generate)
      assert.strictEqual(notJson._tag, "MalformedOutput")
      assert.strictEqual(notJson.description, "Generated object failed to conform to provided schema")
      assert.isTrue(ParseResult.isParseError(notJson.cause))
      // The raw text stays reachable (the JsonAdapter's fallback reader reads it).
      assert.strictEqual(ParseResult.isParseError(notJson.cause) ? notJson.cause.issue.actual : undefined, "not json")
      const missing = yield* Effect.flip(generate)
      assert.strictEqual(missing._tag, "MalformedOutput")
      assert.include(String(missing.cause), "age")
      const ok = yield* generate
      assert.deepStrictEqual(ok.value, { name: "Bob", age: 7 })
      assert.strictEqual(ok.text, JSON.stringify({ name: "Bob", age: 7 }))
    }))

  it.effect("tool calls: sends tools and tool_choice, returns tool-call parts, resolves them", () =>
    Effect.gen(function*() {
      const fake = makeFakeFetch([
        json(
          200,
          chatCompletion({
            content: null,
            tool_calls: [{ id: "call_1", type: "function", function: { name: "GetWeather", arguments: "{\"city\":\"Paris\"}" } }]
          }, { finish: "tool_calls" })
        )
      ])
      const response = yield* LanguageModel.generateText({
        prompt: "Weather in Paris?",
        toolkit: Weather,
        toolChoice: { tool: "GetWeather" }
      }).pipe(Effect.provide(modelLayer(fake)), Effect.provide(WeatherHandlers))
      assert.strictEqual(response.finishReason, "tool-calls")
      assert.strictEqual(response.toolCalls.length, 1)
      assert.deepStrictEqual(response.toolCalls[0]!.params, { city: "Paris" })
      assert.strictEqual(response.toolResults[0]!.result, "sunny in Paris")
      const body = fake.requests[0]!.body as Record<string, unknown>
      assert.deepStrictEqual(body.tool_choice, { type: "function", function: { name: "GetWeather" } })
      assert.deepStrictEqual(body.tools, [{
        type: "function",
        function: {
          name: "GetWeather",
          description: "Weather of a city",
          strict: true,
          parameters: {
            type: "object",
            required: ["city"],
            properties: { city: { type: "string" } },
            additionalProperties: false
          }
        }
      }])
    }))

  it.effect("replays assistant tool calls and tool results in later turns", () =>
    Effect.gen(function*() {
      const fake = makeFakeFetch([json(200, chatCompletion({ content: "It is sunny." }))])
      yield* LanguageModel.generateText({
        prompt: Prompt.make([
          { role: "user", content: "Weather?" },
          {
            role: "assistant",
            content: [{ type: "tool-call", id: "c1", name: "GetWeather", params: { city: "Oslo" } }]
          },
          {
            role: "tool",
            content: [{ type: "tool-result", id: "c1", name: "GetWeather", result: "snow", isFailure: false, providerExecuted: false }]
          }
        ])
      }).pipe(Effect.provide(modelLayer(fake)))
      const body = fake.requests[0]!.body as { messages: unknown }
      assert.deepStrictEqual(body.messages, [
        { role: "user", content: "Weather?" },
        {
          role: "assistant",
          content: null,
          tool_calls: [{ id: "c1", type: "function", function: { name: "GetWeather", arguments: "{\"city\":\"Oslo\"}" } }]
        },
        { role: "tool", tool_call_id: "c1", content: "\"snow\"" }
      ])
    }))

  it.effect("streams text deltas, asks for usage, and ends with a finish part", () =>
    Effect.gen(function*() {
      const fake = makeFakeFetch([
        sse([
          { id: "c1", model: "m", created: 1, choices: [{ delta: { role: "assistant" }, finish_reason: null }] },
          { id: "c1", model: "m", created: 1, choices: [{ delta: { content: "Hel" }, finish_reason: null }] },
          { id: "c1", model: "m", created: 1, choices: [{ delta: { content: "lo" }, finish_reason: null }] },
          { id: "c1", model: "m", created: 1, choices: [{ delta: {}, finish_reason: "stop" }] },
          { id: "c1", model: "m", created: 1, choices: [], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } },
          "[DONE]"
        ])
      ])
      const parts = yield* LanguageModel.streamText({ prompt: "hi" }).pipe(
        Stream.runCollect,
        Effect.map(Chunk.toArray),
        Effect.provide(modelLayer(fake))
      )
      const types = parts.map((p) => p.type)
      assert.deepStrictEqual(types, ["response-metadata", "text-start", "text-delta", "text-delta", "text-end", "finish"])
      const textOut = parts.flatMap((p) => (p.type === "text-delta" ? [p.delta] : [])).join("")
      assert.strictEqual(textOut, "Hello")
      const finish = parts.at(-1)
      assert(finish?.type === "finish")
      assert.strictEqual(finish.reason, "stop")
      assert.strictEqual(finish.usage.totalTokens, 5)
      const body = fake.requests[0]!.body as Record<string, unknown>
      assert.strictEqual(body.stream, true)
      assert.deepStrictEqual(body.stream_options, { include_usage: true })
      assert.strictEqual(fake.requests[0]!.headers.accept, "text/event-stream")
    }))

  it.effect("streams tool calls assembled from argument deltas", () =>
    Effect.gen(function*() {
      const fake = makeFakeFetch([
        sse([
          {
            choices: [{
              delta: { tool_calls: [{ index: 0, id: "call_9", type: "function", function: { name: "GetWeather", arguments: "" } }] },
              finish_reason: null
            }]
          },
          { choices: [{ delta: { tool_calls: [{ index: 0, function: { arguments: "{\"city\":" } }] }, finish_reason: null }] },
          { choices: [{ delta: { tool_calls: [{ index: 0, function: { arguments: "\"Rome\"}" } }] }, finish_reason: null }] },
          { choices: [{ delta: {}, finish_reason: "tool_calls" }] },
          "[DONE]"
        ])
      ])
      const parts = yield* LanguageModel.streamText({ prompt: "w", toolkit: Weather, disableToolCallResolution: true }).pipe(
        Stream.runCollect,
        Effect.map(Chunk.toArray),
        Effect.provide(modelLayer(fake)),
        Effect.provide(WeatherHandlers)
      )
      const call = parts.find((p) => p.type === "tool-call")
      assert(call?.type === "tool-call")
      assert.strictEqual(call.id, "call_9")
      assert.deepStrictEqual(call.params, { city: "Rome" })
      const finish = parts.at(-1)
      assert(finish?.type === "finish")
      assert.strictEqual(finish.reason, "tool-calls")
    }))

  it.effect("a stream that ends without a finish is a connection failure, not a success", () =>
    Effect.gen(function*() {
      const fake = makeFakeFetch([sse([{ choices: [{ delta: { content: "Hel" }, finish_reason: null }] }])])
      const error = yield* LanguageModel.streamText({ prompt: "hi" }).pipe(
        Stream.runDrain,
        Effect.flip,
        Effect.provide(modelLayer(fake))
      )
      assert.strictEqual(LmError.classify(error)._tag, "ConnectionReset")
    }))

  it.effect("HTTP failures are AiErrors that classify", () =>
    Effect.gen(function*() {
      const cases = [
        { responder: json(429, { error: { message: "slow down" } }, { "retry-after-ms": "1500" }), tag: "RateLimited" },
        { responder: json(503, { error: { message: "overloaded" } }), tag: "Overloaded" },
        { responder: json(401, { error: { message: "bad key" } }), tag: "Authentication" },
        {
          responder: json(400, { error: { message: "This model's maximum context length is 8192 tokens" } }),
          tag: "ContextLengthExceeded"
        },
        { responder: json(400, { error: { message: "bad field" } }), tag: "BadRequest" },
        { responder: text(200, "{not json"), tag: "MalformedResponse" },
        { responder: transportError(), tag: "ConnectionReset" }
      ] as const
      for (const { responder, tag } of cases) {
        const fake = makeFakeFetch([responder])
        const error = yield* LanguageModel.generateText({ prompt: "x" }).pipe(Effect.flip, Effect.provide(modelLayer(fake)))
        const classified = LmError.classify(error)
        assert.strictEqual(classified._tag, tag, `${tag}: ${classified.message}`)
        if (classified._tag === "RateLimited") assert.strictEqual(classified.retryAfterMillis, 1500)
      }
    }))
})
