import { Adapter, ChainOfThought, GenAiSpan, JsonAdapter, LmConfig, Module, Predict, ReAct, Signature, StreamPredict, Tool } from "@effect-dspy/core"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Fiber, Schema, Tracer } from "effect"
import * as TestClock from "effect/TestClock"
import { Telemetry } from "../src/index.js"
import type { DecodedSpan } from "./utils/OtlpDecode.js"
import * as OtlpReceiver from "./utils/OtlpReceiver.js"
import * as ScriptedLm from "./utils/ScriptedLm.js"

const Triage = Signature.make("Triage", {
  instructions: "Decide what to do for a coffee-shop customer.",
  input: { request: Schema.String },
  output: { reply: Schema.String }
})

const settings = LmConfig.withSettings({ provider: "scripted", model: "gpt-test", temperature: 0.2, maxTokens: 256 })
const quiet = { batch: { scheduleDelay: Duration.hours(1) }, content: { capture: true } }

const STATUS_UNSET = 0
const STATUS_ERROR = 2

const noUndefinedStrings = (spans: ReadonlyArray<DecodedSpan>) => {
  for (const span of spans) {
    for (const [key, value] of Object.entries(span.attributes)) {
      assert.notStrictEqual(value, "undefined", `${span.name} ${key}`)
    }
  }
}

// No deprecated GenAI names reach a span.
const noDeprecatedNames = (spans: ReadonlyArray<DecodedSpan>) => {
  for (const span of spans) {
    for (const key of Object.keys(span.attributes)) {
      assert.isFalse(
        key === "gen_ai.system" || key.startsWith("gen_ai.openai.") || key === "gen_ai.usage.prompt_tokens" ||
          key === "gen_ai.usage.completion_tokens",
        `${span.name} carries the deprecated ${key}`
      )
    }
  }
}

const json = (value: unknown): unknown => JSON.parse(String(value))

describe("spans exported over OTLP/protobuf", () => {
  it.scoped("a ChainOfThought run: module, LM and user spans in one tree, GenAI attributes in the conventions' shapes", () =>
    Effect.gen(function*() {
      const receiver = yield* OtlpReceiver.make()
      const lm = ScriptedLm.make(() => ScriptedLm.reply({ reasoning: "They want coffee.", reply: "Coming up!" }))
      const triage = ChainOfThought.make(Triage)
      const prediction = yield* triage({ request: "A latte please" }).pipe(
        Effect.withSpan("handle-request"),
        settings,
        Effect.provide(lm.layer),
        Effect.provide(Telemetry.layerOtlp({ url: receiver.tracesUrl, serviceName: "triage-service", ...quiet }))
      )
      assert.strictEqual(prediction.output.reply, "Coming up!")
      // The layer's scope has closed: shutdown flushed the queue.
      const spans = receiver.spans()
      assert.deepStrictEqual(spans.map((s) => s.name).sort(), ["ChainOfThought(Triage)", "chat gpt-test", "handle-request"])
      const root = OtlpReceiver.byName(spans, "handle-request")
      const module = OtlpReceiver.byName(spans, "ChainOfThought(Triage)")
      const chat = OtlpReceiver.byName(spans, "chat gpt-test")
      assert.strictEqual(root.parentSpanId, "")
      assert.deepStrictEqual(OtlpReceiver.ancestors(spans, chat), ["ChainOfThought(Triage)", "handle-request"])
      assert.strictEqual(new Set(spans.map((s) => s.traceId)).size, 1)

      // The trace's name on every span, so a backend that reads spans one at a time has it.
      for (const span of spans) assert.strictEqual(span.attributes["langfuse.trace.name"], "handle-request", span.name)
      assert.strictEqual(root.resource["service.name"], "triage-service")
      assert.strictEqual(root.resource["telemetry.sdk.name"], "opentelemetry")
      assert.strictEqual(root.scope, "@effect-dspy/telemetry")

      assert.strictEqual(module.attributes["dspy.module.kind"], "ChainOfThought")
      assert.strictEqual(module.attributes["langfuse.observation.type"], "chain")
      assert.deepStrictEqual(json(module.attributes["langfuse.observation.input"]), { request: "A latte please" })
      assert.deepStrictEqual(json(module.attributes["langfuse.observation.output"]), { reasoning: "They want coffee.", reply: "Coming up!" })

      assert.strictEqual(chat.kind, 3) // SPAN_KIND_CLIENT
      assert.strictEqual(chat.attributes["gen_ai.operation.name"], "chat")
      assert.strictEqual(chat.attributes["gen_ai.provider.name"], "scripted")
      assert.strictEqual(chat.attributes["gen_ai.request.model"], "gpt-test")
      assert.strictEqual(chat.attributes["gen_ai.request.temperature"], 0.2)
      assert.strictEqual(chat.attributes["gen_ai.request.max_tokens"], 256)
      assert.strictEqual(chat.attributes["gen_ai.response.model"], "scripted-model-2025")
      assert.strictEqual(chat.attributes["gen_ai.response.id"], "resp-1")
      assert.deepStrictEqual(chat.attributes["gen_ai.response.finish_reasons"], ["stop"])
      assert.strictEqual(chat.attributes["gen_ai.usage.input_tokens"], 10)
      assert.isAbove(Number(chat.attributes["gen_ai.usage.output_tokens"]), 0)
      assert.strictEqual(chat.attributes["langfuse.observation.type"], "generation")
      // The prompt: system instructions apart, the conversation as messages of parts.
      const instructions = json(chat.attributes["gen_ai.system_instructions"]) as Array<{ type: string; content: string }>
      assert.strictEqual(instructions[0]!.type, "text")
      assert.include(instructions[0]!.content, "Decide what to do for a coffee-shop customer.")
      const input = json(chat.attributes["gen_ai.input.messages"]) as Array<{ role: string; parts: Array<{ type: string; content: string }> }>
      assert.deepStrictEqual(input.map((m) => m.role), ["user"])
      assert.strictEqual(input[0]!.parts[0]!.type, "text")
      assert.include(input[0]!.parts[0]!.content, "A latte please")
      const output = json(chat.attributes["gen_ai.output.messages"]) as Array<{ role: string; finish_reason: string; parts: Array<{ content: string }> }>
      assert.strictEqual(output.length, 1)
      assert.strictEqual(output[0]!.role, "assistant")
      assert.strictEqual(output[0]!.finish_reason, "stop")
      assert.include(output[0]!.parts[0]!.content, "Coming up!")
      // Successful spans stay Unset: only the application may call them OK.
      for (const span of spans) assert.strictEqual(span.status.code, STATUS_UNSET, span.name)
      noUndefinedStrings(spans)
      noDeprecatedNames(spans)
    }))

  it.scoped("a ReAct run: agent, generations and tools, with the user's spans inside a tool", () =>
    Effect.gen(function*() {
      const receiver = yield* OtlpReceiver.make()
      const QA = Signature.make("OrderQA", {
        instructions: "Answer questions about orders.",
        input: { question: Schema.String },
        output: { answer: Schema.String }
      })
      const lookup = Tool.make({
        name: "lookup_order",
        description: "Finds an order by id",
        parameters: { id: Schema.String },
        handler: ({ id }) => Effect.succeed({ id, status: "shipped" }).pipe(Effect.withSpan("db.query"))
      })
      const replies = [
        ScriptedLm.reply({ next_thought: "Look it up.", next_tool_name: "lookup_order", next_tool_args: { id: "A1" } }),
        ScriptedLm.reply({ next_thought: "Done.", next_tool_name: "finish", next_tool_args: {} }),
        ScriptedLm.reply({ reasoning: "It shipped.", answer: "Order A1 has shipped." })
      ]
      const lm = ScriptedLm.make((_prompt, call) => replies[call - 1]!)
      const agent = ReAct.make(QA, { tools: [lookup], name: "Support" })
      const prediction = yield* agent({ question: "Where is order A1?" }).pipe(
        settings,
        Effect.provide(lm.layer),
        Effect.provide(Telemetry.layerOtlp({ url: receiver.tracesUrl, ...quiet }))
      )
      assert.strictEqual(prediction.output.answer, "Order A1 has shipped.")
      const spans = receiver.spans()
      const agentSpan = OtlpReceiver.byName(spans, "invoke_agent Support")
      assert.strictEqual(agentSpan.parentSpanId, "")
      assert.strictEqual(agentSpan.kind, 1) // SPAN_KIND_INTERNAL: the agent runs in this process
      assert.strictEqual(agentSpan.attributes["dspy.module.kind"], "ReAct")
      assert.strictEqual(agentSpan.attributes["langfuse.observation.type"], "agent")
      assert.strictEqual(agentSpan.attributes["gen_ai.operation.name"], "invoke_agent")
      assert.strictEqual(agentSpan.attributes["gen_ai.agent.name"], "Support")
      assert.strictEqual(agentSpan.attributes["gen_ai.provider.name"], "scripted")
      assert.strictEqual(agentSpan.status.code, STATUS_UNSET)

      const chats = spans.filter((s) => s.name === "chat gpt-test")
      assert.strictEqual(chats.length, 3)
      for (const chat of chats) {
        assert.strictEqual(chat.parentSpanId, agentSpan.spanId)
        assert.strictEqual(chat.attributes["langfuse.observation.type"], "generation")
        assert.strictEqual(chat.attributes["langfuse.trace.name"], agentSpan.name)
        assert.strictEqual(chat.attributes["gen_ai.output.type"], "text")
      }
      assert.deepStrictEqual(chats.map((c) => c.attributes["dspy.predictor"]).sort(), ["Support.extract", "Support.react", "Support.react"])
      // The agent's usage: its calls' totals.
      const sum = (key: string) => chats.reduce((total, c) => total + Number(c.attributes[key]), 0)
      assert.strictEqual(agentSpan.attributes["gen_ai.usage.input_tokens"], sum("gen_ai.usage.input_tokens"))
      assert.strictEqual(agentSpan.attributes["gen_ai.usage.output_tokens"], sum("gen_ai.usage.output_tokens"))
      const tool = OtlpReceiver.byName(spans, "execute_tool lookup_order")
      assert.strictEqual(tool.parentSpanId, agentSpan.spanId)
      assert.strictEqual(tool.attributes["gen_ai.operation.name"], "execute_tool")
      assert.strictEqual(tool.attributes["gen_ai.tool.name"], "lookup_order")
      assert.strictEqual(tool.attributes["gen_ai.tool.description"], "Finds an order by id")
      assert.strictEqual(tool.attributes["gen_ai.tool.type"], "function")
      assert.strictEqual(tool.status.code, STATUS_UNSET)
      assert.strictEqual(tool.attributes["langfuse.observation.type"], "tool")
      assert.deepStrictEqual(json(tool.attributes["gen_ai.tool.call.arguments"]), { id: "A1" })
      assert.deepStrictEqual(json(tool.attributes["gen_ai.tool.call.result"]), { id: "A1", status: "shipped" })
      const query = OtlpReceiver.byName(spans, "db.query")
      assert.deepStrictEqual(OtlpReceiver.ancestors(spans, query), ["execute_tool lookup_order", agentSpan.name])
      noUndefinedStrings(spans)
      noDeprecatedNames(spans)
    }))

  it.scoped("a provider's spans inside the LM call are children of the generation", () =>
    Effect.gen(function*() {
      const receiver = yield* OtlpReceiver.make()
      const lm = ScriptedLm.make(() => ScriptedLm.reply({ answer: "4" }), { innerSpan: "provider.encode" })
      yield* Predict.make(Signature.fromString("question -> answer"))({ question: "2+2?" }).pipe(
        settings,
        Effect.provide(lm.layer),
        Effect.provide(Telemetry.layerOtlp({ url: receiver.tracesUrl, ...quiet }))
      )
      const spans = receiver.spans()
      assert.deepStrictEqual(spans.map((s) => s.name).sort(), ["Predict(question -> answer)", "chat gpt-test", "provider.encode"])
      const inner = OtlpReceiver.byName(spans, "provider.encode")
      assert.deepStrictEqual(OtlpReceiver.ancestors(spans, inner), ["chat gpt-test", "Predict(question -> answer)"])
    }))

  it.scoped("a provider's HTTP client span inside the LM call is folded into the generation, whose ids it propagates", () =>
    Effect.gen(function*() {
      const receiver = yield* OtlpReceiver.make()
      const lm = ScriptedLm.make(() => ScriptedLm.reply({ answer: "4" }), {
        innerSpan: "http.client POST",
        innerSpanKind: "client",
        innerSpanAttributes: { "server.address": "https://api.example.test", "url.full": "https://api.example.test/v1/chat" }
      })
      yield* Predict.make(Signature.fromString("question -> answer"))({ question: "2+2?" }).pipe(
        settings,
        Effect.provide(lm.layer),
        Effect.provide(Telemetry.layerOtlp({ url: receiver.tracesUrl, ...quiet }))
      )
      const spans = receiver.spans()
      assert.deepStrictEqual(spans.map((s) => s.name).sort(), ["Predict(question -> answer)", "chat gpt-test"])
      const chat = OtlpReceiver.byName(spans, "chat gpt-test")
      // What the HTTP client's `traceparent` header carries: the generation's ids.
      assert.deepStrictEqual(lm.counters.innerSpanIds, [{ traceId: chat.traceId, spanId: chat.spanId }])
      // The server, as the conventions name it: host and port (not the URL's origin).
      assert.strictEqual(chat.attributes["server.address"], "api.example.test")
      assert.strictEqual(chat.attributes["server.port"], 443)
      assert.isUndefined(chat.attributes["url.full"])
    }))

  it.scoped("a streamed call's generation carries its time to first chunk and its content", () =>
    Effect.gen(function*() {
      const receiver = yield* OtlpReceiver.make()
      const lm = ScriptedLm.make(() => ScriptedLm.reply({ answer: "four" }))
      const prediction = yield* StreamPredict.final(StreamPredict.stream(Signature.fromString("question -> answer"), { question: "2+2?" })).pipe(
        settings,
        Effect.provide(lm.layer),
        Effect.provide(Telemetry.layerOtlp({ url: receiver.tracesUrl, ...quiet }))
      )
      assert.strictEqual(prediction.output.answer, "four")
      const chat = OtlpReceiver.byName(receiver.spans(), "chat gpt-test")
      assert.strictEqual(chat.attributes["gen_ai.request.stream"], true)
      assert.isAtLeast(Number(chat.attributes["gen_ai.response.time_to_first_chunk"]), 0)
      assert.include(String(chat.attributes["gen_ai.output.messages"]), "four")
      assert.strictEqual(chat.attributes["gen_ai.response.model"], "scripted-model-2025")
    }))

  it.scoped("failures, interruptions and timeouts are errors with error.type; successes stay Unset", () =>
    Effect.gen(function*() {
      const receiver = yield* OtlpReceiver.make()
      yield* Effect.gen(function*() {
        yield* Effect.fail(new Error("boom")).pipe(Effect.withSpan("fails"), Effect.ignore)
        const started = yield* Deferred.make<void>()
        const fiber = yield* Effect.fork(Effect.zipRight(Deferred.succeed(started, undefined), Effect.never).pipe(Effect.withSpan("interrupted")))
        yield* Deferred.await(started)
        yield* Fiber.interrupt(fiber)
        // A call cut short by a timeout: the call's span is interrupted, the caller's fails.
        const timed = yield* Effect.fork(
          Effect.never.pipe(Effect.withSpan("slow call"), Effect.timeout(Duration.seconds(5)), Effect.withSpan("caller"), Effect.ignore)
        )
        yield* TestClock.adjust(Duration.seconds(6))
        yield* Fiber.join(timed)
        yield* Effect.annotateCurrentSpan("unset", undefined).pipe(
          Effect.zipRight(Effect.annotateCurrentSpan("big", 12n)),
          Effect.zipRight(Effect.annotateCurrentSpan("none", [])),
          Effect.zipRight(Effect.annotateCurrentSpan("tags", ["a", "b"])),
          Effect.zipRight(Effect.flatMap(Effect.currentSpan, (span) => Effect.sync(() => span.event("checkpoint", 1_700_000_000_000_000_000n, { step: 2 })))),
          Effect.withSpan("succeeds", { kind: "server" }),
          Effect.withParentSpan(Tracer.externalSpan({ traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331" }))
        )
      }).pipe(Effect.provide(Telemetry.layerOtlp({ url: receiver.tracesUrl, ...quiet })))
      const spans = receiver.spans()
      const fails = OtlpReceiver.byName(spans, "fails")
      assert.deepStrictEqual(fails.status, { code: STATUS_ERROR, message: "boom" })
      assert.strictEqual(fails.attributes["error.type"], "Error")
      assert.strictEqual(fails.events[0]!.name, "exception")
      assert.strictEqual(fails.events[0]!.attributes["exception.type"], "Error")
      assert.strictEqual(fails.events[0]!.attributes["exception.message"], "boom")
      assert.include(String(fails.events[0]!.attributes["exception.stacktrace"]), "boom")
      for (const name of ["interrupted", "slow call"]) {
        const span = OtlpReceiver.byName(spans, name)
        assert.deepStrictEqual(span.status, { code: STATUS_ERROR, message: "interrupted" }, name)
        assert.strictEqual(span.attributes["error.type"], "Interrupted", name)
      }
      const caller = OtlpReceiver.byName(spans, "caller")
      assert.strictEqual(caller.status.code, STATUS_ERROR)
      assert.strictEqual(caller.attributes["error.type"], "TimeoutException")
      const succeeds = OtlpReceiver.byName(spans, "succeeds")
      assert.deepStrictEqual(succeeds.status, { code: STATUS_UNSET, message: "" })
      assert.strictEqual(succeeds.kind, 2) // SPAN_KIND_SERVER
      assert.strictEqual(succeeds.traceId, "0af7651916cd43dd8448eb211c80319c")
      assert.strictEqual(succeeds.parentSpanId, "b7ad6b7169203331")
      assert.notProperty(succeeds.attributes, "unset")
      assert.strictEqual(succeeds.attributes["big"], "12")
      // Arrays stay arrays, the empty one too.
      assert.deepStrictEqual(succeeds.attributes["none"], [])
      assert.deepStrictEqual(succeeds.attributes["tags"], ["a", "b"])
      assert.deepStrictEqual(succeeds.events, [{ name: "checkpoint", attributes: { step: 2 } }])
    }))

  it.scoped("an LM call that fails or is interrupted is an error generation with the error's type", () =>
    Effect.gen(function*() {
      const receiver = yield* OtlpReceiver.make()
      const lm = ScriptedLm.make((_prompt, call) => (call === 1 ? ScriptedLm.httpError("server exploded") : ScriptedLm.reply({ answer: "4" })))
      const qa = Predict.make(Signature.fromString("question -> answer"))
      yield* Effect.gen(function*() {
        yield* Effect.ignore(qa({ question: "first" }))
        const slow = ScriptedLm.make(() => ScriptedLm.reply({ answer: "late" }), { delay: Duration.seconds(30) })
        const fiber = yield* Effect.fork(qa({ question: "second" }).pipe(Effect.provide(slow.layer), Effect.timeout(Duration.seconds(1))))
        yield* TestClock.adjust(Duration.seconds(2))
        yield* Effect.ignore(Fiber.join(fiber))
      }).pipe(settings, Effect.provide(lm.layer), Effect.provide(Telemetry.layerOtlp({ url: receiver.tracesUrl, ...quiet })))
      const chats = receiver.spans().filter((s) => s.name === "chat gpt-test")
      assert.strictEqual(chats.length, 2)
      const failed = chats.find((c) => String(c.attributes["gen_ai.input.messages"]).includes("first"))!
      assert.strictEqual(failed.status.code, STATUS_ERROR)
      assert.strictEqual(failed.attributes["error.type"], "HttpResponseError")
      const cancelled = chats.find((c) => String(c.attributes["gen_ai.input.messages"]).includes("second"))!
      assert.strictEqual(cancelled.status.code, STATUS_ERROR)
      assert.strictEqual(cancelled.attributes["error.type"], "Interrupted")
      assert.isUndefined(cancelled.attributes["gen_ai.output.messages"])
    }))

  it.scoped("content is opt-in: by default no prompt, reply, input, output, tool argument or result is exported", () =>
    Effect.gen(function*() {
      const receiver = yield* OtlpReceiver.make()
      const lookup = Tool.make({
        name: "lookup_order",
        description: "Finds an order by id",
        parameters: { id: Schema.String },
        handler: ({ id }) => Effect.succeed({ id, status: "shipped" })
      })
      const replies = [
        ScriptedLm.reply({ next_thought: "Look it up.", next_tool_name: "lookup_order", next_tool_args: { id: "A1" } }),
        ScriptedLm.reply({ next_thought: "Done.", next_tool_name: "finish", next_tool_args: {} }),
        ScriptedLm.reply({ reasoning: "It shipped.", answer: "Order A1 has shipped." })
      ]
      const lm = ScriptedLm.make((_prompt, call) => replies[call - 1]!)
      yield* ReAct.make(Signature.fromString("question -> answer"), { tools: [lookup], name: "Support" })({ question: "Where is order A1?" }).pipe(
        settings,
        Effect.provide(lm.layer),
        Effect.provide(Telemetry.layerOtlp({ url: receiver.tracesUrl, batch: quiet.batch }))
      )
      const spans = receiver.spans()
      assert.strictEqual(spans.length, 5)
      const contentKeys = [
        "gen_ai.input.messages",
        "gen_ai.output.messages",
        "gen_ai.system_instructions",
        "gen_ai.tool.call.arguments",
        "gen_ai.tool.call.result",
        "langfuse.observation.input",
        "langfuse.observation.output"
      ]
      for (const span of spans) {
        for (const key of contentKeys) assert.notProperty(span.attributes, key, span.name)
      }
      assert.notInclude(receiver.rawText(), "Where is order A1?")
      assert.notInclude(receiver.rawText(), "shipped")
      // What is not content is still there.
      assert.strictEqual(OtlpReceiver.byName(spans, "execute_tool lookup_order").attributes["gen_ai.tool.name"], "lookup_order")
    }))

  it.scoped("a generation carries cached-input and reasoning tokens, the output type and the provider's server", () =>
    Effect.gen(function*() {
      const receiver = yield* OtlpReceiver.make()
      const lm = ScriptedLm.make(() => JSON.stringify({ answer: "4" }), {
        usage: { inputTokens: 2048, outputTokens: 400, totalTokens: 2448, cachedInputTokens: 1536, reasoningTokens: 320 }
      })
      yield* Predict.make(Signature.fromString("question -> answer"), { name: "Solver" })({ question: "2+2?" }).pipe(
        Adapter.withAdapter(JsonAdapter.adapter),
        LmConfig.withSettings({ provider: "openai", model: "o4-mini", server: GenAiSpan.serverOf("https://api.openai.com/v1") }),
        Effect.provide(lm.layer),
        Effect.provide(Telemetry.layerOtlp({ url: receiver.tracesUrl, ...quiet }))
      )
      const chat = OtlpReceiver.byName(receiver.spans(), "chat o4-mini")
      assert.strictEqual(chat.attributes["gen_ai.usage.input_tokens"], 2048)
      assert.strictEqual(chat.attributes["gen_ai.usage.output_tokens"], 400)
      assert.strictEqual(chat.attributes["gen_ai.usage.cache_read.input_tokens"], 1536)
      assert.strictEqual(chat.attributes["gen_ai.usage.reasoning.output_tokens"], 320)
      assert.strictEqual(chat.attributes["gen_ai.output.type"], "json")
      assert.strictEqual(chat.attributes["gen_ai.provider.name"], "openai")
      assert.strictEqual(chat.attributes["server.address"], "api.openai.com")
      assert.strictEqual(chat.attributes["server.port"], 443)
      assert.strictEqual(chat.attributes["dspy.predictor"], "Solver")
      assert.notProperty(chat.attributes, "gen_ai.request.stream")
      noDeprecatedNames(receiver.spans())
    }))

  it.scoped("a tool that fails is an error span with the handler's error type; wrong arguments are InvalidToolArguments", () =>
    Effect.gen(function*() {
      const receiver = yield* OtlpReceiver.make()
      class OrderNotFound extends Schema.TaggedError<OrderNotFound>()("OrderNotFound", { id: Schema.String }) {}
      const lookup = Tool.make({
        name: "lookup_order",
        description: "Finds an order by id",
        parameters: { id: Schema.String },
        handler: ({ id }) => Effect.fail(new OrderNotFound({ id }))
      })
      const replies = [
        ScriptedLm.reply({ next_thought: "Look it up.", next_tool_name: "lookup_order", next_tool_args: { id: "Z9" } }),
        ScriptedLm.reply({ next_thought: "Again.", next_tool_name: "lookup_order", next_tool_args: { order: 9 } }),
        ScriptedLm.reply({ next_thought: "Give up.", next_tool_name: "finish", next_tool_args: {} }),
        ScriptedLm.reply({ reasoning: "Not found.", answer: "No such order." })
      ]
      const lm = ScriptedLm.make((_prompt, call) => replies[call - 1]!)
      const prediction = yield* ReAct.make(Signature.fromString("question -> answer"), { tools: [lookup], name: "Support" })({ question: "Z9?" }).pipe(
        settings,
        Effect.provide(lm.layer),
        Effect.provide(Telemetry.layerOtlp({ url: receiver.tracesUrl, ...quiet }))
      )
      assert.strictEqual(prediction.output.answer, "No such order.")
      const tools = receiver.spans().filter((s) => s.name === "execute_tool lookup_order")
      assert.strictEqual(tools.length, 2)
      for (const tool of tools) assert.strictEqual(tool.status.code, STATUS_ERROR)
      assert.deepStrictEqual(tools.map((t) => t.attributes["error.type"]).sort(), ["InvalidToolArguments", "OrderNotFound"])
      // The agent recovered (the model saw the errors): it is not an error.
      assert.strictEqual(OtlpReceiver.byName(receiver.spans(), "invoke_agent Support").status.code, STATUS_UNSET)
    }))

  it.scoped("nested modules nest their spans as the program nests (OTLP/JSON)", () =>
    Effect.gen(function*() {
      const receiver = yield* OtlpReceiver.make()
      const Draft = Signature.fromString("topic -> draft")
      const Polish = Signature.fromString("draft -> text")
      const lm = ScriptedLm.make((_p, call) => (call === 1 ? ScriptedLm.reply({ reasoning: "r", draft: "d" }) : ScriptedLm.reply({ text: "t" })))
      const writer = Module.make({
        name: "Writer",
        submodules: { draft: ChainOfThought.make(Draft, { name: "Draft" }), polish: Predict.make(Polish, { name: "Polish" }) }
      }, ({ draft, polish }, input: { readonly topic: string }) =>
        Effect.gen(function*() {
          const d = yield* draft(input)
          const p = yield* polish({ draft: d.output.draft })
          return p.output
        }))
      yield* writer({ topic: "tea" }).pipe(
        settings,
        Effect.provide(lm.layer),
        Effect.provide(Telemetry.layerOtlp({ url: receiver.tracesUrl, protocol: "http/json", ...quiet }))
      )
      assert.include(String(receiver.requests[0]!.headers["content-type"]), "application/json")
      const spans = receiver.spans()
      const writerSpan = OtlpReceiver.byName(spans, "Module(Writer)")
      assert.strictEqual(writerSpan.attributes["langfuse.observation.type"], "span")
      assert.deepStrictEqual(OtlpReceiver.ancestors(spans, OtlpReceiver.byName(spans, "ChainOfThought(Draft)")), ["Module(Writer)"])
      assert.deepStrictEqual(OtlpReceiver.ancestors(spans, OtlpReceiver.byName(spans, "Predict(Polish)")), ["Module(Writer)"])
      const chats = spans.filter((s) => s.name === "chat gpt-test")
      assert.deepStrictEqual(chats.map((c) => OtlpReceiver.ancestors(spans, c)[0]).sort(), ["ChainOfThought(Draft)", "Predict(Polish)"])
      assert.deepStrictEqual(chats[0]!.attributes["gen_ai.response.finish_reasons"], ["stop"])
    }))
})

describe("samplers (OTEL_TRACES_SAMPLER), one way", () => {
  const runWith = (sampler: Parameters<typeof Telemetry.layerOtlp>[0]["sampler"], parent?: Tracer.ExternalSpan) =>
    Effect.gen(function*() {
      const receiver = yield* OtlpReceiver.make()
      const lm = ScriptedLm.make(() => ScriptedLm.reply({ answer: "4" }), { innerSpan: "provider.encode" })
      const run = Predict.make(Signature.fromString("question -> answer"))({ question: "2+2?" }).pipe(Effect.withSpan("request"))
      yield* (parent === undefined ? run : Effect.withParentSpan(run, parent)).pipe(
        settings,
        Effect.provide(lm.layer),
        Effect.provide(Telemetry.layerOtlp({ url: receiver.tracesUrl, sampler, ...quiet }))
      )
      return receiver.spans().map((s) => s.name).sort()
    })

  it.scoped("always_off and a ratio of 0 export nothing; always_on and a ratio of 1 everything", () =>
    Effect.gen(function*() {
      const all = ["Predict(question -> answer)", "chat gpt-test", "provider.encode", "request"]
      assert.deepStrictEqual(yield* runWith({ name: "always_off", ratio: 1 }), [])
      assert.deepStrictEqual(yield* runWith({ name: "traceidratio", ratio: 0 }), [])
      assert.deepStrictEqual(yield* runWith({ name: "parentbased_traceidratio", ratio: 0 }), [])
      assert.deepStrictEqual(yield* runWith({ name: "always_on", ratio: 1 }), all)
      assert.deepStrictEqual(yield* runWith({ name: "traceidratio", ratio: 1 }), all)
    }))

  it.scoped("parent-based samplers follow a remote parent's sampled flag; always_on does not", () =>
    Effect.gen(function*() {
      const unsampled = Tracer.externalSpan({ traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331", sampled: false })
      const sampled = Tracer.externalSpan({ traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331", sampled: true })
      assert.deepStrictEqual(yield* runWith({ name: "parentbased_always_on", ratio: 1 }, unsampled), [])
      assert.strictEqual((yield* runWith({ name: "parentbased_always_off", ratio: 1 }, sampled)).length, 4)
      assert.strictEqual((yield* runWith({ name: "always_on", ratio: 1 }, unsampled)).length, 4)
    }))
})
