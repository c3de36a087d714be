/**
 * Real clients against the server: the official `openai` SDK, and the
 * `@effect/ai-openai` (Responses API) and `@effect/ai-anthropic` providers.
 */
import { LanguageModel, Tool, Toolkit } from "@effect/ai"
import { AnthropicClient, AnthropicLanguageModel, Generated as AnthropicGenerated } from "@effect/ai-anthropic"
import { Generated as OpenAiGenerated, OpenAiClient, OpenAiLanguageModel } from "@effect/ai-openai"
import { FetchHttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, JSONSchema, Layer, Redacted, Schema, Stream } from "effect"
import OpenAI from "openai"
import { SimulatorServer } from "../src/index.js"
import { sections, system, userInputs } from "./fixtures.js"
import { parseSse, post } from "./http.js"

const Order = Schema.Struct({
  item: Schema.Literal("latte", "mocha"),
  shots: Schema.Int.pipe(Schema.between(1, 3)),
  extras: Schema.Array(Schema.String)
})
const orderSchema = JSONSchema.make(Order) as unknown as Record<string, unknown>
const isOrder = Schema.is(Order)

const messages = [
  { role: "system" as const, content: system },
  { role: "user" as const, content: userInputs("What is 2+2?", "happy") }
]

const withSdk = <A>(f: (client: OpenAI, server: SimulatorServer.Service) => Promise<A>, options: SimulatorServer.Options = {}) =>
  Effect.flatMap(SimulatorServer.SimulatorServer, (server) =>
    Effect.promise(() => f(new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "sk-sim", maxRetries: 0 }), server))).pipe(
      Effect.provide(SimulatorServer.layer(options))
    )

const GetWeather = Tool.make("GetWeather", {
  parameters: { city: Schema.String, unit: Schema.Literal("c", "f") },
  success: Schema.String
})
const Weather = Toolkit.make(GetWeather)
const WeatherHandlers = Weather.toLayer({ GetWeather: ({ city }) => Effect.succeed(`Sunny in ${city}`) })

describe("official openai SDK", () => {
  it.live("parses chat completions, streamed and not", () =>
    withSdk(async (client) => {
      const completion = await client.chat.completions.create({ model: "gpt-4o-mini", messages })
      const content = completion.choices[0]!.message.content ?? ""
      assert.deepStrictEqual(sections(content).map(([n]) => n), ["reasoning", "answer", "completed"])

      const stream = client.chat.completions.stream({ model: "gpt-4o-mini", messages, stream_options: { include_usage: true } })
      const final = await stream.finalChatCompletion()
      assert.strictEqual(final.choices[0]!.message.content, content)
      assert.strictEqual(final.usage?.completion_tokens, completion.usage?.completion_tokens)

      const parsed = await client.chat.completions.parse({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: "Order a coffee" }],
        response_format: { type: "json_schema", json_schema: { name: "Order", schema: orderSchema, strict: true } }
      })
      assert.isTrue(isOrder(parsed.choices[0]!.message.parsed))

      const tools = await client.chat.completions.stream({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: "Weather in Oslo?" }],
        tools: [{
          type: "function",
          function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } }
        }],
        tool_choice: "required"
      }).finalChatCompletion()
      const call = tools.choices[0]!.message.tool_calls![0]!
      assert.strictEqual(call.type === "function" ? call.function.name : "", "get_weather")
    }))

  it.live("parses Responses, streamed and not", () =>
    withSdk(async (client) => {
      const response = await client.responses.create({ model: "gpt-4o-mini", instructions: system, input: userInputs("Why?", "neutral") })
      assert.deepStrictEqual(sections(response.output_text).map(([n]) => n), ["reasoning", "answer", "completed"])

      const stream = client.responses.stream({ model: "gpt-4o-mini", instructions: system, input: userInputs("Why?", "neutral") })
      const deltas: Array<string> = []
      stream.on("response.output_text.delta", (e) => deltas.push(e.delta))
      const final = await stream.finalResponse()
      assert.strictEqual(final.output_text, response.output_text)
      assert.strictEqual(deltas.join(""), response.output_text)

      const parsed = await client.responses.parse({
        model: "gpt-4o-mini",
        input: "Order a coffee",
        text: { format: { type: "json_schema", name: "Order", schema: orderSchema, strict: true } }
      })
      assert.isTrue(isOrder(parsed.output_parsed))
    }))

  it.live("surfaces 429s as RateLimitError with retry-after", () =>
    withSdk(async (client) => {
      const error = await client.chat.completions.create({ model: "m", messages }).then(() => undefined, (e: unknown) => e)
      assert.instanceOf(error, OpenAI.RateLimitError)
      assert.strictEqual((error as InstanceType<typeof OpenAI.RateLimitError>).headers?.get("retry-after"), "1")
    }, { faults: { rateLimit: 1 } }))
})

const openAiModel = Layer.unwrapEffect(Effect.map(SimulatorServer.SimulatorServer, (server) =>
  OpenAiLanguageModel.layer({ model: "gpt-4o-mini" }).pipe(
    Layer.provide(OpenAiClient.layer({ apiUrl: `${server.url}/v1`, apiKey: Redacted.make("sk-sim") })),
    Layer.provide(FetchHttpClient.layer)
  )))

const anthropicModel = Layer.unwrapEffect(Effect.map(SimulatorServer.SimulatorServer, (server) =>
  AnthropicLanguageModel.layer({ model: "claude-3-5-haiku-latest" }).pipe(
    Layer.provide(AnthropicClient.layer({ apiUrl: server.url, apiKey: Redacted.make("sk-sim") })),
    Layer.provide(FetchHttpClient.layer)
  )))

for (const [name, model] of [["@effect/ai-openai (Responses)", openAiModel], ["@effect/ai-anthropic (Messages)", anthropicModel]] as const) {
  describe(name, () => {
    it.live("generateText, streamText, generateObject and a forced tool", () =>
      Effect.gen(function*() {
        const text = yield* LanguageModel.generateText({ prompt: messages })
        assert.deepStrictEqual(sections(text.text).map(([n]) => n), ["reasoning", "answer", "completed"])
        assert.isAbove(text.usage.outputTokens ?? 0, 0)

        const parts = Chunk.toReadonlyArray(yield* Stream.runCollect(LanguageModel.streamText({ prompt: messages })))
        const streamed = parts.flatMap((p) => (p.type === "text-delta" ? [p.delta] : [])).join("")
        assert.strictEqual(streamed, text.text)
        assert.isTrue(parts.some((p) => p.type === "finish"))

        const order = yield* LanguageModel.generateObject({ prompt: "Order a coffee", schema: Order, objectName: "Order" })
        assert.isTrue(isOrder(order.value))

        const called = yield* LanguageModel.generateText({ prompt: "Weather?", toolkit: Weather, toolChoice: "required" })
        assert.strictEqual(called.toolCalls[0]?.name, "GetWeather")
        assert.include(["c", "f"], called.toolCalls[0]?.params.unit)
      }).pipe(
        Effect.provide(Layer.mergeAll(model, WeatherHandlers).pipe(Layer.provideMerge(SimulatorServer.layer())))
      ))
  })
}

describe("strict decoding with the providers' generated schemas", () => {
  const weather = { type: "object", properties: { city: { type: "string" } }, required: ["city"] }
  const decodeStrict = <A, I>(schema: Schema.Schema<A, I>, json: string, what: string) => {
    const result = Schema.decodeUnknownEither(Schema.parseJson(schema))(json)
    if (result._tag === "Left") assert.fail(`${what}: ${result.left.message}`)
  }

  it.live("every reply and stream event decodes", () =>
    Effect.gen(function*() {
      const server = yield* SimulatorServer.SimulatorServer
      for (const forced of [false, true]) {
        const chat = yield* post(`${server.url}/v1/chat/completions`, {
          model: "m",
          messages,
          tools: [{ type: "function", function: { name: "get_weather", parameters: weather } }],
          tool_choice: forced ? "required" : "none"
        })
        decodeStrict(OpenAiGenerated.CreateChatCompletionResponse, chat.text, "chat.completion")

        const request = {
          model: "m",
          instructions: system,
          input: userInputs("Why?", "happy"),
          tools: [{ type: "function", name: "get_weather", parameters: weather, strict: true }],
          tool_choice: forced ? "required" : "none"
        }
        decodeStrict(OpenAiGenerated.Response, (yield* post(`${server.url}/v1/responses`, request)).text, "response")
        for (const event of parseSse((yield* post(`${server.url}/v1/responses`, { ...request, stream: true })).text)) {
          decodeStrict(OpenAiClient.ResponseStreamEvent, event.data, event.event ?? "?")
        }

        const message = {
          model: "c",
          max_tokens: 2048,
          system,
          messages: [{ role: "user", content: userInputs("Why?", "happy") }],
          tools: [{ name: "get_weather", input_schema: weather }],
          tool_choice: { type: forced ? "any" : "none" }
        }
        const headers = { "anthropic-version": "2023-06-01" }
        decodeStrict(AnthropicGenerated.BetaMessage, (yield* post(`${server.url}/v1/messages`, message, headers)).text, "message")
        for (const event of parseSse((yield* post(`${server.url}/v1/messages`, { ...message, stream: true }, headers)).text)) {
          decodeStrict(AnthropicClient.MessageStreamEvent, event.data, event.event ?? "?")
        }
      }
    }).pipe(Effect.provide(SimulatorServer.layer())))
})
