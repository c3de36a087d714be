/**
 * `openai-compatible/…` (and `openai/…` with `api: "chat-completions"`) against replies written
 * from each server's documented wire format, replayed over loopback, through `Lm.layer` with a
 * retry policy, on `TestClock`.
 */
import { Adapter, JsonAdapter, LmConfig, Predict, Signature } from "@effect-dspy/core"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Layer, Option, Redacted, Schema, Stream } from "effect"
import * as ChatCompletions from "../src/ChatCompletions.js"
import * as Lm from "../src/Lm.js"
import * as RequestOptions from "../src/RequestOptions.js"
import * as fx from "./fixtures/chatCompletions.js"
import { failureOf, generate, policy, reasoningOf, stream, textOf, valueOf } from "./utils/calls.js"
import { drive, serve } from "./utils/replay.js"

const LmConfigTag = LmConfig.LmConfig

const compatible = (url: string, options: Lm.Options = {}) =>
  Lm.layer("openai-compatible/test-model", { baseUrl: `${url}/v1`, retry: policy, ...options })

describe("chat completions: a reply is a prediction only when the server finished it", () => {
  it.scoped("a stream cut every 3 bytes, across UTF-8 sequences, reads whole (OpenAI)", () =>
    Effect.gen(function*() {
      const server = yield* serve([fx.openAiStream])
      const parts = valueOf(yield* stream(compatible(server.url)))
      assert.strictEqual(textOf(parts), "Grüße aus 東京 🌸")
      const finish = parts.find((p) => p.type === "finish")
      assert.strictEqual(finish?.type === "finish" ? finish.usage.totalTokens : undefined, 19)
      assert.deepStrictEqual(server.received[0]!.body.stream_options, { include_usage: true })
    }))

  it.scoped("a stream cut off before any content is a failed attempt, retried", () =>
    Effect.gen(function*() {
      const server = yield* serve([fx.cutBeforeContent, fx.openAiStream])
      const parts = valueOf(yield* stream(compatible(server.url)))
      assert.strictEqual(textOf(parts), "Grüße aus 東京 🌸")
      assert.strictEqual(server.received.length, 2)
    }))

  it.scoped("a stream cut off mid-answer fails with the text so far, never a prediction of half an answer", () =>
    Effect.gen(function*() {
      const server = yield* serve([fx.cutStream])
      const error = failureOf(yield* stream(compatible(server.url)))
      assert.strictEqual(error._tag, "StreamFailed")
      if (error._tag === "StreamFailed") {
        assert.strictEqual(error.reason, "ConnectionReset")
        assert.strictEqual(error.partialText, "The capital of")
      }
      // the consumer saw part of the answer: sending it again would repeat it
      assert.strictEqual(server.received.length, 1)
    }))

  it.scoped("a stream always cut off before content ends in ConnectionReset after the retries", () =>
    Effect.gen(function*() {
      const server = yield* serve([fx.cutBeforeContent])
      const error = failureOf(yield* stream(compatible(server.url)))
      assert.strictEqual(error._tag, "ConnectionReset")
      assert.strictEqual(server.received.length, 3)
    }))

  it.scoped("the same cut for a non-streamed call: a body cut mid-JSON is retried", () =>
    Effect.gen(function*() {
      const whole = fx.completion({ content: "Four." })
      const server = yield* serve([{ body: (whole.body as string).slice(0, 60), end: "destroy" }, whole])
      const response = valueOf(yield* generate(compatible(server.url)))
      assert.strictEqual(response.text, "Four.")
      assert.strictEqual(server.received.length, 2)
    }))

  it.scoped("an error event inside the stream (vLLM, llama.cpp) is classified and retried", () =>
    Effect.gen(function*() {
      const server = yield* serve([fx.inBandErrorBeforeContent, fx.openAiStream])
      const parts = valueOf(yield* stream(compatible(server.url)))
      assert.strictEqual(textOf(parts), "Grüße aus 東京 🌸")
      assert.strictEqual(server.received.length, 2)
    }))

  it.scoped("an error after content (OpenRouter's finish_reason error) fails the stream with the text so far", () =>
    Effect.gen(function*() {
      const server = yield* serve([fx.openRouterMidStreamError])
      const error = failureOf(yield* stream(compatible(server.url)))
      assert.strictEqual(error._tag, "StreamFailed")
      if (error._tag === "StreamFailed") {
        assert.strictEqual(error.partialText, "The capital of")
        assert.strictEqual(error.reason, "Overloaded")
        assert.include(error.description, "Provider disconnected unexpectedly")
      }
      assert.strictEqual(server.received.length, 1)
    }))

  it.scoped("a persistent 200-with-error body ends with the server's message after the retries", () =>
    Effect.gen(function*() {
      const server = yield* serve([fx.okWithError])
      const error = failureOf(yield* generate(compatible(server.url)))
      assert.strictEqual(error._tag, "Overloaded")
      assert.include(error.message, "upstream connect error or disconnect/reset before headers")
      assert.strictEqual(server.received.length, 3)
    }))

  it.scoped("an HTML page behind a 200 is a malformed reply, retried, then reported", () =>
    Effect.gen(function*() {
      const server = yield* serve([fx.htmlPage])
      const error = failureOf(yield* generate(compatible(server.url)))
      assert.strictEqual(error._tag, "MalformedResponse")
      assert.strictEqual(server.received.length, 3)
    }))
})

describe("chat completions: refusals, limits and filters end in their own errors, without a second call", () => {
  it.scoped("a refusal is Refused, with the model's words", () =>
    Effect.gen(function*() {
      const server = yield* serve([fx.refusal])
      const error = failureOf(yield* generate(compatible(server.url)))
      assert.strictEqual(error._tag, "Refused")
      assert.include(error.description, "I'm sorry, I can't help with that.")
      assert.strictEqual(server.received.length, 1)
    }))

  it.scoped("a reply cut by the token limit is Truncated, with its text", () =>
    Effect.gen(function*() {
      const server = yield* serve([fx.lengthCut])
      const error = failureOf(yield* generate(compatible(server.url)))
      assert.strictEqual(error._tag, "Truncated")
      if (error._tag === "Truncated") assert.strictEqual(error.partialText, "[[ ## answer ## ]]\nThe capital of Fra")
      assert.strictEqual(server.received.length, 1)
    }))

  it.scoped("Azure's content filter is ContentFiltered, naming the category", () =>
    Effect.gen(function*() {
      const server = yield* serve([fx.azureContentFilter])
      const error = failureOf(yield* generate(compatible(server.url)))
      assert.strictEqual(error._tag, "ContentFiltered")
      assert.include(error.description, "violence (high)")
      assert.strictEqual(server.received.length, 1)
    }))

  it.scoped("Predict does not re-ask after a truncated reply", () =>
    Effect.gen(function*() {
      const server = yield* serve([fx.lengthCut])
      const qa = Predict.make(Signature.fromString("question -> answer"))
      const exit = yield* Effect.exit(drive(qa({ question: "Capital of France?" }).pipe(Effect.provide(compatible(server.url)))))
      assert.strictEqual(failureOf(exit)._tag, "Truncated")
      assert.strictEqual(server.received.length, 1)
    }))
})

describe("chat completions: reasoning never reaches the answer", () => {
  it.scoped("DeepSeek's reasoning_content deltas are reasoning parts; keep-alive comments are skipped", () =>
    Effect.gen(function*() {
      const server = yield* serve([fx.deepSeekReasoningStream])
      const parts = valueOf(yield* stream(compatible(server.url)))
      assert.strictEqual(textOf(parts), "Four.")
      assert.strictEqual(reasoningOf(parts), "The user asks 2+2. That is 4.")
    }))

  it.scoped("OpenRouter's reasoning deltas and message.reasoning are reasoning, its processing comments skipped", () =>
    Effect.gen(function*() {
      const server = yield* serve([fx.openRouterReasoningStream, fx.openRouterReasoningBody])
      const parts = valueOf(yield* stream(compatible(server.url)))
      assert.strictEqual(textOf(parts), "4")
      assert.strictEqual(reasoningOf(parts), "Two plus two makes four.")
      const response = valueOf(yield* generate(compatible(server.url)))
      assert.strictEqual(response.text, "4")
      assert.strictEqual(response.reasoningText, "Two plus two makes four.")
    }))

  it.scoped("DeepSeek's blank lines before a non-streamed body are skipped", () =>
    Effect.gen(function*() {
      const server = yield* serve([fx.deepSeekKeepAliveBody])
      const response = valueOf(yield* generate(compatible(server.url)))
      assert.strictEqual(response.text, "Four.")
      assert.strictEqual(response.reasoningText, "2+2 is 4.")
    }))

  it.scoped("<think> blocks in the content, and a lone </think>, never reach a field", () =>
    Effect.gen(function*() {
      const qa = Predict.make(Signature.fromString("question -> answer"))
      for (const reply of [fx.thinkInContent, fx.implicitThinkOpen]) {
        const server = yield* serve([reply])
        const prediction = valueOf(yield* Effect.exit(drive(qa({ question: "2+2?" }).pipe(Effect.provide(compatible(server.url))))))
        assert.strictEqual(prediction.output.answer, "Four")
      }
    }))

  it.scoped("think tags cut across deltas are still recognised", () =>
    Effect.gen(function*() {
      const server = yield* serve([fx.thinkTagsAcrossDeltas])
      const parts = valueOf(yield* stream(compatible(server.url)))
      assert.strictEqual(textOf(parts), "Four.")
      assert.strictEqual(reasoningOf(parts), "plan: say four")
    }))

  it.scoped("a model seen closing a block it never opened is remembered: its next streams start in reasoning", () =>
    Effect.gen(function*() {
      const server = yield* serve([fx.implicitThinkOpenStream])
      const model = compatible(server.url)
      const twice = Effect.zip(Stream.runCollect(LanguageModel.streamText({ prompt: "a" })), Stream.runCollect(LanguageModel.streamText({ prompt: "b" })))
      const [first, second] = valueOf(yield* Effect.exit(drive(Effect.scoped(twice.pipe(Effect.provide(model))))))
      // the first time, words passed on before </think> arrived stay text; the tag never is
      assert.strictEqual(textOf(Chunk.toArray(first)), "Adding twoFour.")
      assert.strictEqual(textOf(Chunk.toArray(second)), "Four.")
      assert.strictEqual(reasoningOf(Chunk.toArray(second)), "Adding two and two.")
    }))

  it.scoped("Mistral's typed content (thinking and text chunks), whole and streamed", () =>
    Effect.gen(function*() {
      const whole = yield* serve([fx.mistralContentArray])
      const response = valueOf(yield* generate(compatible(whole.url)))
      assert.strictEqual(response.text, "Four.")
      assert.strictEqual(response.reasoningText, "Two plus two is four.")
      const streamed = yield* serve([fx.mistralContentArrayStream])
      const parts = valueOf(yield* stream(compatible(streamed.url)))
      assert.strictEqual(textOf(parts), "Four.")
      assert.strictEqual(reasoningOf(parts), "Adding.")
    }))
})

const Weather = Tool.make("weather", { parameters: { city: Schema.String }, success: Schema.String })
const tools = Toolkit.make(Weather)
const handlers = tools.toLayer({ weather: ({ city }) => Effect.succeed(`sunny in ${city}`) })

// The tool calls of a streamed call (tool resolution off: what the model asked for).
const streamTools = (model: ReturnType<typeof compatible>) =>
  Effect.exit(drive(Effect.scoped(
    Stream.runCollect(LanguageModel.streamText({ prompt: "weather?", toolkit: tools, disableToolCallResolution: true })).pipe(
      Effect.map((parts) =>
        Chunk.toArray(parts).flatMap((p) => (p.type === "tool-call" ? [{ id: p.id, name: p.name, params: p.params }] : []))
      ),
      Effect.provide(handlers),
      Effect.provide(model)
    )
  )))

describe("chat completions: streamed tool calls", () => {
  it.scoped("Ollama numbers every call 0: a new id at the same index starts a new call", () =>
    Effect.gen(function*() {
      const server = yield* serve([fx.ollamaToolCalls])
      const parts = valueOf(yield* streamTools(compatible(server.url)))
      assert.deepStrictEqual(parts, [
        { id: "call_a1", name: "weather", params: { city: "Paris" } },
        { id: "call_b2", name: "weather", params: { city: "Rome" } }
      ])
    }))

  it.scoped("Gemini sends no index: each call gets its own slot", () =>
    Effect.gen(function*() {
      const server = yield* serve([fx.geminiCompatToolCalls])
      const parts = valueOf(yield* streamTools(compatible(server.url)))
      assert.deepStrictEqual(parts.map((p) => p.params), [{ city: "Oslo" }, { city: "Bergen" }])
    }))

  it.scoped("OpenAI's arguments in pieces are joined", () =>
    Effect.gen(function*() {
      const server = yield* serve([fx.openAiFragmentedToolCall])
      const parts = valueOf(yield* streamTools(compatible(server.url)))
      assert.deepStrictEqual(parts, [{ id: "call_x", name: "weather", params: { city: "Lima" } }])
    }))
})


describe("chat completions: what real servers need sent, and remembered per model", () => {
  it.scoped("stream_options rejected by name: dropped, the call sent again, and not sent next time", () =>
    Effect.gen(function*() {
      const server = yield* serve([fx.rejectsStreamOptions, fx.openAiStream, fx.openAiStream])
      const model = compatible(server.url)
      const program = Effect.gen(function*() {
        const first = yield* Stream.runCollect(LanguageModel.streamText({ prompt: "a" }))
        const second = yield* Stream.runCollect(LanguageModel.streamText({ prompt: "b" }))
        return [textOf(Chunk.toArray(first)), textOf(Chunk.toArray(second))]
      })
      const texts = valueOf(yield* Effect.exit(drive(Effect.scoped(program.pipe(Effect.provide(model))))))
      assert.deepStrictEqual(texts, ["Grüße aus 東京 🌸", "Grüße aus 東京 🌸"])
      assert.deepStrictEqual(server.received.map((r) => r.body.stream_options), [{ include_usage: true }, undefined, undefined])
    }))

  it.scoped("streamUsage: false never sends stream_options", () =>
    Effect.gen(function*() {
      const server = yield* serve([fx.openAiStream])
      valueOf(yield* stream(compatible(server.url, { chatCompletions: { streamUsage: false } })))
      assert.isUndefined(server.received[0]!.body.stream_options)
    }))

  it.scoped("json_schema rejected: json_object with the schema in the prompt, then the prompt only, remembered", () =>
    Effect.gen(function*() {
      const server = yield* serve([fx.rejectsJsonSchema, fx.rejectsJsonObject, fx.completion({ content: "{\"answer\":\"Four\"}" })])
      const qa = Predict.make(Signature.fromString("question -> answer"))
      const model = compatible(server.url)
      const twice = Effect.zipRight(qa({ question: "2+2?" }), qa({ question: "3+3?" }))
      const prediction = valueOf(yield* Effect.exit(drive(twice.pipe(Adapter.withAdapter(JsonAdapter.adapter), Effect.provide(model)))))
      assert.strictEqual(prediction.output.answer, "Four")
      const formats = server.received.map((r) => (r.body.response_format as { type?: string } | undefined)?.type)
      assert.deepStrictEqual(formats, ["json_schema", "json_object", undefined, undefined])
      const lastMessages = server.received[3]!.body.messages as ReadonlyArray<{ role: string; content: string }>
      assert.include(lastMessages.at(-1)!.content, "JSON schema")
    }))

  for (const [name, reply] of [["fenced JSON", fx.fencedJson], ["JSON inside prose", fx.proseJson]] as const) {
    it.scoped(`the JSON adapter's fallback reader works through Lm.layer (${name})`, () =>
      Effect.gen(function*() {
        const server = yield* serve([reply])
        const qa = Predict.make(Signature.fromString("question -> answer"))
        const prediction = valueOf(yield* Effect.exit(drive(
          qa({ question: "2+2?" }).pipe(Adapter.withAdapter(JsonAdapter.adapter), Effect.provide(compatible(server.url)))
        )))
        assert.strictEqual(prediction.output.answer, "Four")
        assert.strictEqual(server.received.length, 1)
      }))
  }

  it.scoped("OpenAI's reasoning models get max_completion_tokens and no temperature (BestOfN's 1.0 included)", () =>
    Effect.gen(function*() {
      const server = yield* serve([fx.completion({ content: "Four." })])
      const model = Lm.layer("openai/o3-mini", {
        baseUrl: `${server.url}/v1`,
        apiKey: Redacted.make("sk-test-0123456789abcdef"),
        api: "chat-completions",
        reasoningEffort: "low",
        retry: policy
      })
      const program = LanguageModel.generateText({ prompt: "2+2?" }).pipe(
        Effect.provideService(LmConfigTag, { temperature: 1, maxTokens: 300 })
      )
      valueOf(yield* Effect.exit(drive(Effect.scoped(program.pipe(Effect.provide(model))))))
      const body = server.received[0]!.body
      assert.strictEqual(body.max_completion_tokens, 300)
      assert.isUndefined(body.max_tokens)
      assert.isUndefined(body.temperature)
      assert.strictEqual(body.reasoning_effort, "low")
    }))

  it.scoped("a server rejecting max_tokens by name gets max_completion_tokens", () =>
    Effect.gen(function*() {
      const server = yield* serve([fx.rejectsMaxTokens, fx.completion({ content: "Four." })])
      const program = LanguageModel.generateText({ prompt: "2+2?" }).pipe(Effect.provideService(LmConfigTag, { maxTokens: 50 }))
      valueOf(yield* Effect.exit(drive(Effect.scoped(program.pipe(Effect.provide(compatible(server.url)))))))
      assert.deepStrictEqual(server.received.map((r) => [r.body.max_tokens, r.body.max_completion_tokens]), [[50, undefined], [undefined, 50]])
    }))

  it.scoped("n, seed and logprobs are sent; logprobs and the other choices come back on the finish part", () =>
    Effect.gen(function*() {
      const server = yield* serve([fx.logprobsAndChoices])
      const model = compatible(server.url, { chatCompletions: { n: 2, logprobs: true, top_logprobs: 1 } })
      const program = LanguageModel.generateText({ prompt: "yes?" }).pipe(Effect.provideService(LmConfigTag, { seed: 42 }))
      const response = valueOf(yield* Effect.exit(drive(Effect.scoped(program.pipe(Effect.provide(model))))))
      const body = server.received[0]!.body
      assert.deepStrictEqual([body.n, body.seed, body.logprobs, body.top_logprobs], [2, 42, true, 1])
      assert.strictEqual(response.text, "Yes")
      const finish = response.content.find((p) => p.type === "finish")
      const metadata = finish?.metadata["openai-compatible"] as { logprobs: { content: Array<{ token: string }> }; choices: Array<string> }
      assert.strictEqual(metadata.logprobs.content[0]!.token, "Yes")
      assert.deepStrictEqual(metadata.choices, ["No"])
    }))

  it.scoped("organization, project, extra headers and body, per model and per call", () =>
    Effect.gen(function*() {
      const server = yield* serve([fx.completion({ content: "ok" })])
      const model = Lm.layer("openai/gpt-4o-mini", {
        baseUrl: `${server.url}/v1`,
        apiKey: Redacted.make("sk-test-0123456789abcdef"),
        api: "chat-completions",
        organization: "org-1",
        project: "proj-1",
        headers: { "X-Title": "tests" },
        retry: policy
      })
      const program = LanguageModel.generateText({ prompt: "hi" }).pipe(
        RequestOptions.with({ headers: { "x-trace": "t-1" }, body: { top_k: 40 } })
      )
      valueOf(yield* Effect.exit(drive(Effect.scoped(program.pipe(Effect.provide(model))))))
      const request = server.received[0]!
      assert.strictEqual(request.headers["openai-organization"], "org-1")
      assert.strictEqual(request.headers["openai-project"], "proj-1")
      assert.strictEqual(request.headers["x-title"], "tests")
      assert.strictEqual(request.headers["x-trace"], "t-1")
      assert.strictEqual(request.headers["authorization"], "Bearer sk-test-0123456789abcdef")
      assert.strictEqual(request.body.top_k, 40)
    }))

  it.scoped("Azure: api-version in the query, the key in api-key", () =>
    Effect.gen(function*() {
      const server = yield* serve([fx.completion({ content: "ok" })])
      const model = compatible(`${server.url}/openai/deployments/gpt4o`, {
        baseUrl: `${server.url}/openai/deployments/gpt4o`,
        apiKey: Redacted.make("azure-key-0123456789"),
        apiVersion: "2024-10-21"
      })
      valueOf(yield* generate(model))
      const request = server.received[0]!
      assert.strictEqual(request.url, "/openai/deployments/gpt4o/chat/completions?api-version=2024-10-21")
      assert.strictEqual(request.headers["api-key"], "azure-key-0123456789")
      assert.isUndefined(request.headers["authorization"])
    }))

  it.scoped("Azure's empty prompt-filter chunk does not name the response", () =>
    Effect.gen(function*() {
      const server = yield* serve([fx.azureFilterChunkFirst])
      const parts = valueOf(yield* stream(compatible(server.url)))
      const metadata = parts.filter((p) => p.type === "response-metadata")
      assert.strictEqual(metadata.length, 1)
      if (metadata[0]?.type === "response-metadata") {
        assert.strictEqual(Option.getOrUndefined(metadata[0].id), "chatcmpl-AZ1")
        assert.strictEqual(Option.getOrUndefined(metadata[0].modelId), "gpt-4o-2024-08-06")
      }
      assert.strictEqual(textOf(parts), "Hello.")
    }))

  it.scoped("Groq's usage in x_groq is read", () =>
    Effect.gen(function*() {
      const server = yield* serve([fx.groqUsage])
      const parts = valueOf(yield* stream(compatible(server.url)))
      const finish = parts.find((p) => p.type === "finish")
      assert.strictEqual(finish?.type === "finish" ? finish.usage.totalTokens : undefined, 13)
    }))

  it.scoped("ChatCompletions.layer alone is a LanguageModel (without Lm)", () =>
    Effect.gen(function*() {
      const server = yield* serve([fx.completion({ content: "Four." })])
      const model = ChatCompletions.layer({ model: "m", apiUrl: `${server.url}/v1` }).pipe(Layer.provide(Lm.httpClientLayer))
      assert.strictEqual(valueOf(yield* generate(model)).text, "Four.")
    }))
})
