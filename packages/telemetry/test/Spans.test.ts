import { ChainOfThought, LmConfig, Module, Predict, ReAct, Signature, StreamPredict, Tool } from "@effect-dspy/core"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Fiber, Schema, Tracer } from "effect"
import { Telemetry } from "../src/index.js"
import * as OtlpReceiver from "./utils/OtlpReceiver.js"
import * as ScriptedLm from "./utils/ScriptedLm.js"

const Triage = Signature.make("Triage", {
  instructions: "Decide what to do for a coffee-shop customer.",
  input: { request: Schema.String },
  output: { reply: Schema.String }
})

const settings = LmConfig.withSettings({ provider: "scripted", model: "gpt-test", temperature: 0.2, maxTokens: 256 })
const quiet = { batch: { scheduleDelay: Duration.hours(1) } }

const noUndefinedStrings = (spans: ReadonlyArray<{ readonly name: string; readonly attributes: Record<string, unknown> }>) => {
  for (const span of spans) {
    for (const [key, value] of Object.entries(span.attributes)) {
      assert.notStrictEqual(value, "undefined", `${span.name} ${key}`)
    }
  }
}

describe("spans exported over OTLP/protobuf", () => {
  it.scoped("a ChainOfThought run: module, LM and user spans in one tree with GenAI and Langfuse attributes", () =>
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
      assert.deepStrictEqual(spans.map((s) => s.name).sort(), [
        "ChainOfThought(Triage)",
        "chat gpt-test",
        "handle-request"
      ])
      const root = OtlpReceiver.byName(spans, "handle-request")
      const module = OtlpReceiver.byName(spans, "ChainOfThought(Triage)")
      const chat = OtlpReceiver.byName(spans, "chat gpt-test")
      assert.strictEqual(root.parentSpanId, "")
      assert.deepStrictEqual(OtlpReceiver.ancestors(spans, chat), ["ChainOfThought(Triage)", "handle-request"])
      assert.strictEqual(new Set(spans.map((s) => s.traceId)).size, 1)

      assert.strictEqual(root.attributes["langfuse.trace.name"], "handle-request")
      assert.strictEqual(root.resource["service.name"], "triage-service")
      assert.strictEqual(root.scope, "@effect-dspy/telemetry")

      assert.strictEqual(module.attributes["dspy.module.kind"], "ChainOfThought")
      assert.strictEqual(module.attributes["dspy.module.name"], "Triage")
      assert.strictEqual(module.attributes["dspy.signature"], "Triage")
      assert.strictEqual(module.attributes["langfuse.observation.type"], "chain")
      assert.deepStrictEqual(JSON.parse(String(module.attributes["langfuse.observation.input"])), { request: "A latte please" })
      assert.deepStrictEqual(JSON.parse(String(module.attributes["langfuse.observation.output"])), {
        reasoning: "They want coffee.",
        reply: "Coming up!"
      })

      assert.strictEqual(chat.kind, 3) // SPAN_KIND_CLIENT
      assert.strictEqual(chat.attributes["gen_ai.operation.name"], "chat")
      assert.strictEqual(chat.attributes["gen_ai.provider.name"], "scripted")
      assert.strictEqual(chat.attributes["gen_ai.system"], "scripted")
      assert.strictEqual(chat.attributes["gen_ai.request.model"], "gpt-test")
      assert.strictEqual(chat.attributes["gen_ai.request.temperature"], 0.2)
      assert.strictEqual(chat.attributes["gen_ai.request.max_tokens"], 256)
      assert.strictEqual(chat.attributes["gen_ai.response.model"], "scripted-model-2025")
      assert.strictEqual(chat.attributes["gen_ai.response.id"], "resp-1")
      assert.deepStrictEqual(chat.attributes["gen_ai.response.finish_reasons"], ["stop"])
      assert.strictEqual(chat.attributes["gen_ai.usage.input_tokens"], 10)
      assert.isAbove(Number(chat.attributes["gen_ai.usage.output_tokens"]), 0)
      assert.strictEqual(chat.attributes["langfuse.observation.type"], "generation")
      const input = JSON.parse(String(chat.attributes["langfuse.observation.input"])) as Array<{ role: string; content: string }>
      assert.deepStrictEqual(input.map((m) => m.role), ["system", "user"])
      assert.include(input[1]!.content, "A latte please")
      assert.include(String(chat.attributes["langfuse.observation.output"]), "Coming up!")
      assert.strictEqual(chat.status.code, 1) // OK

      // @effect/ai's own `LanguageModel.generateText` span is folded into the generation.
      noUndefinedStrings(spans)
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
      const agentSpan = OtlpReceiver.byName(spans, "ReAct(Support)")
      assert.strictEqual(agentSpan.parentSpanId, "")
      assert.strictEqual(agentSpan.attributes["langfuse.observation.type"], "agent")
      assert.strictEqual(agentSpan.attributes["langfuse.trace.name"], "ReAct(Support)")
      assert.strictEqual(agentSpan.attributes["dspy.module.kind"], "ReAct")

      const chats = spans.filter((s) => s.name === "chat gpt-test")
      assert.strictEqual(chats.length, 3)
      for (const chat of chats) {
        assert.strictEqual(chat.parentSpanId, agentSpan.spanId)
        assert.strictEqual(chat.attributes["langfuse.observation.type"], "generation")
      }
      const tool = OtlpReceiver.byName(spans, "execute_tool lookup_order")
      assert.strictEqual(tool.parentSpanId, agentSpan.spanId)
      assert.strictEqual(tool.attributes["gen_ai.operation.name"], "execute_tool")
      assert.strictEqual(tool.attributes["gen_ai.tool.name"], "lookup_order")
      assert.strictEqual(tool.attributes["langfuse.observation.type"], "tool")
      assert.deepStrictEqual(JSON.parse(String(tool.attributes["langfuse.observation.input"])), { id: "A1" })
      assert.strictEqual(tool.attributes["langfuse.observation.output"], `{"id":"A1","status":"shipped"}`)
      const query = OtlpReceiver.byName(spans, "db.query")
      assert.deepStrictEqual(OtlpReceiver.ancestors(spans, query), ["execute_tool lookup_order", "ReAct(Support)"])
      noUndefinedStrings(spans)
    }))

  it.scoped("a provider's spans inside the LM call are children of the generation", () =>
    Effect.gen(function*() {
      const receiver = yield* OtlpReceiver.make()
      const lm = ScriptedLm.make(() => ScriptedLm.reply({ answer: "4" }), { innerSpan: "http.client POST" })
      yield* Predict.make(Signature.fromString("question -> answer"))({ question: "2+2?" }).pipe(
        settings,
        Effect.provide(lm.layer),
        Effect.provide(Telemetry.layerOtlp({ url: receiver.tracesUrl, ...quiet }))
      )
      const spans = receiver.spans()
      assert.deepStrictEqual(spans.map((s) => s.name).sort(), ["Predict(question -> answer)", "chat gpt-test", "http.client POST"])
      const http = OtlpReceiver.byName(spans, "http.client POST")
      assert.deepStrictEqual(OtlpReceiver.ancestors(spans, http), ["chat gpt-test", "Predict(question -> answer)"])
    }))

  it.scoped("a provider's HTTP client span inside the LM call is folded into the generation, whose ids it propagates", () =>
    Effect.gen(function*() {
      const receiver = yield* OtlpReceiver.make()
      const lm = ScriptedLm.make(() => ScriptedLm.reply({ answer: "4" }), { innerSpan: "http.client POST", innerSpanKind: "client" })
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
      assert.include(String(chat.attributes["langfuse.observation.output"]), "four")
      assert.strictEqual(chat.attributes["gen_ai.response.model"], "scripted-model-2025")
    }))

  it.scoped("failures, interruptions and events: status and exception event as @effect/opentelemetry sets them", () =>
    Effect.gen(function*() {
      const receiver = yield* OtlpReceiver.make()
      yield* Effect.gen(function*() {
        yield* Effect.fail(new Error("boom")).pipe(
          Effect.tap(() => Effect.void),
          Effect.withSpan("fails"),
          Effect.ignore
        )
        const started = yield* Deferred.make<void>()
        const fiber = yield* Effect.fork(Effect.zipRight(Deferred.succeed(started, undefined), Effect.never).pipe(Effect.withSpan("interrupted")))
        yield* Deferred.await(started)
        yield* Fiber.interrupt(fiber)
        yield* Effect.annotateCurrentSpan("unset", undefined).pipe(
          Effect.zipRight(Effect.annotateCurrentSpan("big", 12n)),
          Effect.zipRight(Effect.flatMap(Effect.currentSpan, (span) => Effect.sync(() => span.event("checkpoint", 1_700_000_000_000_000_000n, { step: 2 })))),
          Effect.withSpan("succeeds", { kind: "server" }),
          Effect.withParentSpan(Tracer.externalSpan({ traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331" }))
        )
      }).pipe(Effect.provide(Telemetry.layerOtlp({ url: receiver.tracesUrl, ...quiet })))
      const spans = receiver.spans()
      const fails = OtlpReceiver.byName(spans, "fails")
      assert.deepStrictEqual(fails.status, { code: 2, message: "boom" })
      assert.strictEqual(fails.events[0]!.name, "exception")
      assert.strictEqual(fails.events[0]!.attributes["exception.type"], "Error")
      assert.strictEqual(fails.events[0]!.attributes["exception.message"], "boom")
      assert.include(String(fails.events[0]!.attributes["exception.stacktrace"]), "boom")
      const interrupted = OtlpReceiver.byName(spans, "interrupted")
      assert.strictEqual(interrupted.status.code, 1)
      assert.strictEqual(interrupted.attributes["status.interrupted"], true)
      const succeeds = OtlpReceiver.byName(spans, "succeeds")
      assert.deepStrictEqual(succeeds.status, { code: 1, message: "" })
      assert.strictEqual(succeeds.kind, 2) // SPAN_KIND_SERVER
      assert.strictEqual(succeeds.traceId, "0af7651916cd43dd8448eb211c80319c")
      assert.strictEqual(succeeds.parentSpanId, "b7ad6b7169203331")
      assert.notProperty(succeeds.attributes, "unset")
      assert.strictEqual(succeeds.attributes["big"], "12")
      assert.deepStrictEqual(succeeds.events, [{ name: "checkpoint", attributes: { step: 2 } }])
    }))

  it.scoped("nested modules nest their spans as the program nests", () =>
    Effect.gen(function*() {
      const receiver = yield* OtlpReceiver.make()
      const Draft = Signature.fromString("topic -> draft")
      const Polish = Signature.fromString("draft -> text")
      const lm = ScriptedLm.make((_p, call) =>
        call === 1 ? ScriptedLm.reply({ reasoning: "r", draft: "d" }) : ScriptedLm.reply({ text: "t" })
      )
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
      assert.deepStrictEqual(
        chats.map((c) => OtlpReceiver.ancestors(spans, c)[0]).sort(),
        ["ChainOfThought(Draft)", "Predict(Polish)"]
      )
      assert.deepStrictEqual(chats[0]!.attributes["gen_ai.response.finish_reasons"], ["stop"])
    }))
})
