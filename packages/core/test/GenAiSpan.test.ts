/**
 * The span protocol: what core's module, LM and tool spans are called and carry, what telemetry
 * can rely on to tell them apart, and what the content sink receives.
 */
import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Prompt from "@effect/ai/Prompt"
import type * as Response from "@effect/ai/Response"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Fiber, Layer, Schema, Stream, TestClock, type Tracer } from "effect"
import { Adapter, GenAiSpan, JsonAdapter, LmConfig, Predict, ReAct, Signature, StreamPredict, Tool } from "../src/index.js"
import * as RecordingTracer from "./utils/RecordingTracer.js"
import * as ScriptedLm from "./utils/ScriptedLm.js"

const QA = Signature.fromString("question -> answer", { name: "QA" })
const sim = LmConfig.withSettings({ provider: "simulator", model: "sim-1", temperature: 0.5, maxTokens: 100 })

const failing = Layer.effect(
  LanguageModel.LanguageModel,
  LanguageModel.make({
    generateText: () => Effect.fail(new AiError.UnknownError({ module: "Test", method: "generateText", description: "boom" })),
    streamText: () => Stream.die("not used")
  })
)

describe("GenAiSpan", () => {
  it.effect("a Predict call: a module span, a generation inside it, @effect/ai's span inside that", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make(() => ScriptedLm.reply({ answer: "Pour-over." }))
      const { spans, tracer } = RecordingTracer.make()
      yield* Predict.make(QA, { name: "qa" })({ question: "Best brew?" }).pipe(sim, Effect.withTracer(tracer), Effect.provide(lm.layer))
      assert.deepStrictEqual(spans.map((s) => [s.name, s.parent]), [
        ["Predict(qa)", undefined],
        ["chat sim-1", "Predict(qa)"],
        ["LanguageModel.generateText", "chat sim-1"]
      ])
      const module = RecordingTracer.named(spans, "Predict(qa)")
      assert.isFalse(GenAiSpan.isGeneration(module.span))
      assert.strictEqual(module.attributes.get(GenAiSpan.Attributes.moduleKind), "Predict")
      assert.strictEqual(module.attributes.get(GenAiSpan.Attributes.moduleName), "qa")
      assert.strictEqual(module.attributes.get(GenAiSpan.Attributes.signature), "QA")
      assert.strictEqual(module.attributes.get(GenAiSpan.Attributes.observationType), "span")
      const chat = RecordingTracer.named(spans, "chat sim-1")
      assert.isTrue(GenAiSpan.isGeneration(chat.span))
      assert.strictEqual(chat.kind, "client")
      assert.deepStrictEqual(
        Object.fromEntries([...chat.attributes].filter(([key]) => key.startsWith("gen_ai."))),
        {
          "gen_ai.operation.name": "chat",
          "gen_ai.provider.name": "simulator",
          "gen_ai.request.model": "sim-1",
          "gen_ai.output.type": "text",
          "gen_ai.request.temperature": 0.5,
          "gen_ai.request.max_tokens": 100,
          "gen_ai.response.finish_reasons": ["stop"],
          "gen_ai.usage.input_tokens": 10,
          "gen_ai.usage.output_tokens": Math.ceil(ScriptedLm.reply({ answer: "Pour-over." }).length / 4)
        }
      )
      assert.strictEqual(chat.attributes.get(GenAiSpan.Attributes.adapter), "ChatAdapter")
      assert.strictEqual(chat.attributes.get(GenAiSpan.Attributes.predictor), "qa")
      // Not streamed, and no endpoint known (no provider layer): neither is claimed.
      assert.isFalse(chat.attributes.has(GenAiSpan.Attributes.requestStream))
      assert.isFalse(chat.attributes.has(GenAiSpan.Attributes.serverAddress))
      for (const [key, value] of chat.attributes) assert.notStrictEqual(value, undefined, key)
      assert.isTrue(GenAiSpan.isLanguageModelSpan(spans[2]!.name))
      assert.deepStrictEqual(spans.map((s) => GenAiSpan.kindOf(s.span)), ["module", "lm", undefined])
    }))

  it.effect("a failed LM call names its error type on the generation", () =>
    Effect.gen(function*() {
      const { spans, tracer } = RecordingTracer.make()
      const exit = yield* Effect.exit(Predict.make(QA)({ question: "q" }).pipe(sim, Effect.withTracer(tracer), Effect.provide(failing)))
      assert.strictEqual(exit._tag, "Failure")
      assert.strictEqual(RecordingTracer.named(spans, "chat sim-1").attributes.get(GenAiSpan.Attributes.errorType), "UnknownError")
    }))

  it.effect("useSpan hands the effect its span, as the parent of what runs inside, with the services it provides", () =>
    Effect.gen(function*() {
      const { spans, tracer } = RecordingTracer.make()
      class Tag extends Context.Reference<Tag>()("Tag", { defaultValue: () => "default" }) {}
      const description = GenAiSpan.toolSpan("lookup")
      const seen = yield* GenAiSpan.useSpan(description, (span) =>
        Effect.gen(function*() {
          const current = yield* Effect.currentSpan
          const inner = yield* Effect.withSpan(Effect.currentSpan, "inner")
          return { same: current === span, parent: inner.parent, span, tag: yield* Tag }
        }), (context) => Context.add(context, Tag, "provided")).pipe(Effect.withTracer(tracer))
      assert.isTrue(seen.same)
      assert.strictEqual(seen.tag, "provided")
      assert.isTrue(seen.parent._tag === "Some" && seen.parent.value === seen.span)
      const failed = yield* GenAiSpan.useSpan(description, () => Effect.fail("boom")).pipe(Effect.withTracer(tracer), Effect.flip)
      assert.strictEqual(failed, "boom")
      const made = spans.filter((s) => s.name === description.name)
      assert.strictEqual(made.length, 2)
      assert.strictEqual(made[0]!.attributes.get(GenAiSpan.Attributes.toolName), "lookup")
      assert.deepStrictEqual(made.map((s) => s.span.status._tag === "Ended" ? s.span.status.exit._tag : "open"), ["Success", "Failure"])
    }))

  it.effect("the content sink gets each span's input and output, with that span", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make(() => ScriptedLm.reply({ answer: "Pour-over." }))
      const { spans, tracer } = RecordingTracer.make()
      const seen: Array<{ readonly span: string; readonly info: GenAiSpan.ContentInfo; readonly value: unknown }> = []
      const sink: GenAiSpan.ContentSink = (span, value, info) => seen.push({ span: span.name, info, value })
      yield* Predict.make(QA, { name: "qa" })({ question: "Best brew?" }).pipe(
        sim,
        Effect.provideService(GenAiSpan.CurrentContentSink, sink),
        Effect.withTracer(tracer),
        Effect.provide(lm.layer)
      )
      assert.deepStrictEqual(seen.map((s) => [s.span, s.info.span, s.info.direction, s.info.name]), [
        ["Predict(qa)", "module", "input", "qa"],
        ["chat sim-1", "lm", "input", "sim-1"],
        ["chat sim-1", "lm", "output", "sim-1"],
        ["Predict(qa)", "module", "output", "qa"]
      ])
      assert.deepStrictEqual(seen[0]!.value, { question: "Best brew?" })
      assert.isTrue(Prompt.isPrompt(seen[1]!.value))
      assert.strictEqual(seen[2]!.value, ScriptedLm.reply({ answer: "Pour-over." }))
      assert.deepStrictEqual(seen[3]!.value, { answer: "Pour-over." })
      assert.strictEqual(spans.length, 3)
    }))

  it.effect("an LM call's span: cached and reasoning tokens, JSON output, the server, the provider's registry name", () =>
    Effect.gen(function*() {
      const lm = Layer.effect(
        LanguageModel.LanguageModel,
        LanguageModel.make({
          generateText: () =>
            Effect.succeed<Array<Response.PartEncoded>>([
              { type: "text", text: JSON.stringify({ answer: "Pour-over." }) },
              {
                type: "finish",
                reason: "stop",
                usage: { inputTokens: 1200, outputTokens: 300, totalTokens: 1500, cachedInputTokens: 1024, reasoningTokens: 256 }
              }
            ]),
          streamText: () => Stream.die("not used")
        })
      )
      const { spans, tracer } = RecordingTracer.make()
      yield* Predict.make(QA, { name: "qa" })({ question: "Best brew?" }).pipe(
        Adapter.withAdapter(JsonAdapter.adapter),
        LmConfig.withSettings({ provider: "google", model: "gemini-2.5-flash", server: GenAiSpan.serverOf("https://generativelanguage.googleapis.com") }),
        Effect.withTracer(tracer),
        Effect.provide(lm)
      )
      const chat = RecordingTracer.named(spans, "chat gemini-2.5-flash")
      assert.strictEqual(chat.attributes.get("gen_ai.usage.input_tokens"), 1200)
      assert.strictEqual(chat.attributes.get("gen_ai.usage.cache_read.input_tokens"), 1024)
      assert.strictEqual(chat.attributes.get("gen_ai.usage.reasoning.output_tokens"), 256)
      assert.strictEqual(chat.attributes.get("gen_ai.output.type"), "json")
      assert.strictEqual(chat.attributes.get("gen_ai.provider.name"), "gcp.gemini")
      assert.strictEqual(chat.attributes.get("server.address"), "generativelanguage.googleapis.com")
      assert.strictEqual(chat.attributes.get("server.port"), 443)
    }))

  it("serverOf: host and port of a base URL, the scheme's default port when it names none", () => {
    assert.deepStrictEqual(GenAiSpan.serverOf("https://api.openai.com/v1"), { address: "api.openai.com", port: 443 })
    assert.deepStrictEqual(GenAiSpan.serverOf("http://localhost:11434/v1"), { address: "localhost", port: 11434 })
    assert.deepStrictEqual(GenAiSpan.serverOf("http://[::1]:8080"), { address: "::1", port: 8080 })
    assert.isUndefined(GenAiSpan.serverOf("not a url"))
  })

  it.effect("a tool's span has its error type: arguments the model got wrong, a handler's failure", () =>
    Effect.gen(function*() {
      class OrderNotFound extends Schema.TaggedError<OrderNotFound>()("OrderNotFound", { id: Schema.String }) {}
      const lookup = Tool.make({
        name: "lookup_order",
        description: "Finds an order by id",
        parameters: { id: Schema.String },
        handler: ({ id }) => Effect.fail(new OrderNotFound({ id }))
      })
      const { spans, tracer } = RecordingTracer.make()
      const wrong = yield* Effect.flip(lookup.call({ order: 7 }).pipe(Effect.withTracer(tracer)))
      const missing = yield* Effect.flip(lookup.call({ id: "B2" }).pipe(Effect.withTracer(tracer)))
      assert.strictEqual(wrong._tag, "ToolError")
      assert.strictEqual(missing._tag, "ToolError")
      assert.deepStrictEqual(spans.map((s) => [s.name, s.attributes.get(GenAiSpan.Attributes.errorType)]), [
        ["execute_tool lookup_order", "InvalidToolArguments"],
        ["execute_tool lookup_order", "OrderNotFound"]
      ])
      for (const span of spans) {
        assert.strictEqual(span.span.status._tag === "Ended" && span.span.status.exit._tag, "Failure")
        assert.strictEqual(span.attributes.get(GenAiSpan.Attributes.toolDescription), "Finds an order by id")
        assert.strictEqual(span.attributes.get(GenAiSpan.Attributes.toolType), "function")
      }
    }))

  it.effect("ReAct is an agent span; its tools are tool spans with their content", () =>
    Effect.gen(function*() {
      const lookup = Tool.make({
        name: "lookup_order",
        description: "Finds an order by id",
        parameters: { id: Schema.String },
        handler: ({ id }) => Effect.succeed({ id, status: "shipped" })
      })
      const lm = ScriptedLm.make((_prompt, call) =>
        call === 1
          ? ScriptedLm.reply({ next_thought: "look", next_tool_name: "lookup_order", next_tool_args: { id: "A1" } })
          : call === 2
          ? ScriptedLm.reply({ next_thought: "done", next_tool_name: "finish", next_tool_args: {} })
          : ScriptedLm.reply({ reasoning: "r", answer: "shipped" })
      )
      const { spans, tracer } = RecordingTracer.make()
      const content: Array<[string, string, unknown]> = []
      const sink: GenAiSpan.ContentSink = (span, value, info) => {
        if (info.span === "tool") content.push([span.name, info.direction, value])
      }
      yield* ReAct.make(QA, { name: "agent", tools: [lookup] })({ question: "Where is A1?" }).pipe(
        Effect.provideService(GenAiSpan.CurrentContentSink, sink),
        sim,
        Effect.withTracer(tracer),
        Effect.provide(lm.layer)
      )
      const agent = RecordingTracer.named(spans, "invoke_agent agent")
      assert.strictEqual(GenAiSpan.moduleSpan({ name: "agent", kind: "ReAct", signature: "QA" }).kind, "agent")
      assert.strictEqual(agent.attributes.get(GenAiSpan.Attributes.observationType), "agent")
      assert.strictEqual(agent.attributes.get(GenAiSpan.Attributes.operationName), "invoke_agent")
      assert.strictEqual(agent.attributes.get(GenAiSpan.Attributes.agentName), "agent")
      assert.strictEqual(agent.attributes.get(GenAiSpan.Attributes.providerName), "simulator")
      assert.strictEqual(GenAiSpan.kindOf(agent.span), "agent")
      // The agent's usage: the totals of its three calls.
      const chats = spans.filter((s) => GenAiSpan.isGeneration(s.span))
      const total = (key: string) => chats.reduce((sum, c) => sum + Number(c.attributes.get(key)), 0)
      assert.strictEqual(agent.attributes.get(GenAiSpan.Attributes.usageInputTokens), 30)
      assert.strictEqual(agent.attributes.get(GenAiSpan.Attributes.usageOutputTokens), total(GenAiSpan.Attributes.usageOutputTokens))
      assert.isFalse(agent.attributes.has(GenAiSpan.Attributes.usageCacheReadInputTokens))
      // Each call names its predictor, so that a backend can tell the steps from the extraction.
      assert.deepStrictEqual(chats.map((c) => c.attributes.get(GenAiSpan.Attributes.predictor)), ["agent.react", "agent.react", "agent.extract"])
      const tool = RecordingTracer.named(spans, "execute_tool lookup_order")
      assert.strictEqual(GenAiSpan.kindOf(tool.span), "tool")
      assert.strictEqual(tool.parent, "invoke_agent agent")
      assert.strictEqual(tool.attributes.get(GenAiSpan.Attributes.operationName), "execute_tool")
      assert.strictEqual(tool.attributes.get(GenAiSpan.Attributes.toolName), "lookup_order")
      assert.strictEqual(tool.attributes.get(GenAiSpan.Attributes.toolDescription), "Finds an order by id")
      assert.strictEqual(tool.attributes.get(GenAiSpan.Attributes.toolType), "function")
      assert.isFalse(tool.attributes.has(GenAiSpan.Attributes.errorType))
      assert.strictEqual(tool.attributes.get(GenAiSpan.Attributes.observationType), "tool")
      assert.deepStrictEqual(content, [
        ["execute_tool lookup_order", "input", { id: "A1" }],
        ["execute_tool lookup_order", "output", "{\"id\":\"A1\",\"status\":\"shipped\"}"]
      ])
      // three LM calls, each a generation under the agent
      assert.deepStrictEqual(chats.map((s) => s.parent), ["invoke_agent agent", "invoke_agent agent", "invoke_agent agent"])
    }))

  it.effect("a streamed call marks its generation with the time to first chunk, on Effect's clock", () =>
    Effect.gen(function*() {
      // the server sends nothing for 250 ms, then the whole reply
      const reply = ScriptedLm.reply({ answer: "Pour-over." })
      const lm = Layer.effect(
        LanguageModel.LanguageModel,
        LanguageModel.make({
          generateText: () => Effect.die("not used"),
          streamText: () =>
            Stream.concat(
              Stream.drain(Stream.fromEffect(Effect.sleep("250 millis"))),
              Stream.make<Array<Response.StreamPartEncoded>>(
                { type: "text-start", id: "t" },
                { type: "text-delta", id: "t", delta: reply },
                { type: "text-end", id: "t" },
                { type: "finish", reason: "stop", usage: { inputTokens: 10, outputTokens: 5, totalTokens: 15 } }
              )
            )
        })
      )
      const { spans, tracer } = RecordingTracer.make()
      const fiber = yield* StreamPredict.stream(QA, { question: "Best brew?" }).pipe(
        Stream.runDrain,
        sim,
        Effect.withTracer(tracer),
        Effect.provide(lm),
        Effect.fork
      )
      // Marked as streamed from the start, before any chunk.
      yield* TestClock.adjust("100 millis")
      assert.strictEqual(RecordingTracer.named(spans, "chat sim-1").attributes.get(GenAiSpan.Attributes.requestStream), true)
      assert.isFalse(RecordingTracer.named(spans, "chat sim-1").attributes.has(GenAiSpan.Attributes.responseTimeToFirstChunk))
      yield* TestClock.adjust("1 minute")
      yield* Fiber.join(fiber)
      const chat = RecordingTracer.named(spans, "chat sim-1")
      assert.strictEqual(chat.attributes.get(GenAiSpan.Attributes.requestStream), true)
      assert.strictEqual(chat.attributes.get(GenAiSpan.Attributes.responseTimeToFirstChunk), 0.25)
      assert.strictEqual(chat.attributes.get(GenAiSpan.Attributes.completionStartTime), new Date(250).toISOString())
    }))

  it("names what other packages fold into a generation", () => {
    const span = (kind: Tracer.SpanKind) => ({ name: "http.client POST", kind })
    assert.isTrue(GenAiSpan.isHttpClientSpan(span("client").name, span("client").kind))
    assert.isFalse(GenAiSpan.isHttpClientSpan(span("server").name, span("server").kind))
    assert.isTrue(GenAiSpan.isLanguageModelSpan("LanguageModel.streamText"))
    assert.isFalse(GenAiSpan.isLanguageModelSpan("chat sim-1"))
    assert.isTrue(GenAiSpan.isGenAiAttribute(GenAiSpan.Attributes.usageInputTokens))
    assert.isFalse(GenAiSpan.isGenAiAttribute(GenAiSpan.Attributes.observationType))
    assert.strictEqual(GenAiSpan.lmSpan({ adapter: "ChatAdapter", signature: "QA" }).name, "chat unknown")
  })
})
