import { LmConfig, Predict, ReAct, Signature, Tool } from "@effect-dspy/core"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Redacted, Schema } from "effect"
import { Langfuse, Telemetry, TelemetryConfig } from "../src/index.js"
import * as OtlpReceiver from "./utils/OtlpReceiver.js"
import * as ScriptedLm from "./utils/ScriptedLm.js"

const quiet = { batch: { scheduleDelay: Duration.hours(1) }, content: { capture: true } }
const secret = "sk-lf-0000-SECRET-1111-2222"

const langfuse = (receiver: OtlpReceiver.Receiver, options: Partial<Telemetry.LangfuseOptions> = {}) =>
  Telemetry.layerLangfuse({ publicKey: "pk-lf-public", secretKey: Redacted.make(secret), baseUrl: receiver.baseUrl, ...quiet, ...options })

describe("Langfuse", () => {
  it("endpoint joins the base URL and the OTel path", () => {
    assert.strictEqual(Langfuse.endpoint(), "https://cloud.langfuse.com/api/public/otel/v1/traces")
    assert.strictEqual(Langfuse.endpoint("https://lf.example.com/"), "https://lf.example.com/api/public/otel/v1/traces")
  })

  it.scoped("exports gzipped with Basic auth and the ingestion version; environment and release on the resource; sessions on every span", () =>
    Effect.gen(function*() {
      const receiver = yield* OtlpReceiver.make()
      const lm = ScriptedLm.make(() => ScriptedLm.reply({ answer: "hi" }))
      yield* Predict.make(Signature.fromString("question -> answer"))({ question: "hello?" }).pipe(
        Effect.withSpan("chat-turn"),
        Telemetry.withSession({ sessionId: "session-7", userId: "ada", tags: ["beta"] }),
        LmConfig.withSettings({ provider: "scripted", model: "m" }),
        Effect.provide(lm.layer),
        Effect.provide(langfuse(receiver, { environment: "staging", release: "v1.2.3" }))
      )
      const request = receiver.requests[0]!
      assert.strictEqual(request.path, "/api/public/otel/v1/traces")
      assert.strictEqual(request.headers["authorization"], `Basic ${Buffer.from(`pk-lf-public:${secret}`).toString("base64")}`)
      assert.strictEqual(request.headers["x-langfuse-ingestion-version"], "4")
      assert.strictEqual(request.headers["content-type"], "application/x-protobuf")
      assert.strictEqual(request.headers["content-encoding"], "gzip")
      assert.notInclude(receiver.rawText(), secret)
      const spans = receiver.spans()
      assert.strictEqual(spans.length, 3)
      for (const span of spans) {
        assert.strictEqual(span.resource["langfuse.environment"], "staging", span.name)
        assert.strictEqual(span.resource["langfuse.release"], "v1.2.3", span.name)
        assert.strictEqual(span.attributes["langfuse.trace.name"], "chat-turn", span.name)
        assert.strictEqual(span.attributes["langfuse.session.id"], "session-7", span.name)
        assert.strictEqual(span.attributes["langfuse.user.id"], "ada", span.name)
        assert.strictEqual(span.attributes["session.id"], "session-7", span.name)
        assert.deepStrictEqual(span.attributes["langfuse.trace.tags"], ["beta"], span.name)
      }
    }))

  it.scoped("each model call of an agent is a generation named after its predictor; OTLP keeps the conventions' names", () =>
    Effect.gen(function*() {
      const langfuseReceiver = yield* OtlpReceiver.make()
      const otlpReceiver = yield* OtlpReceiver.make()
      const QA = Signature.make("OrderQA", {
        instructions: "Answer questions about orders.",
        input: { question: Schema.String },
        output: { answer: Schema.String }
      })
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
      yield* ReAct.make(QA, { tools: [lookup], name: "Support" })({ question: "Where is order A1?" }).pipe(
        Langfuse.withPrompt({ name: "support-agent", version: 3 }),
        LmConfig.withSettings({ provider: "scripted", model: "gpt-test" }),
        Effect.provide(lm.layer),
        // One layer, two destinations.
        Effect.provide(Telemetry.layer(TelemetryConfig.make({
          destinations: [
            Langfuse.destination({ publicKey: "pk-lf-public", secretKey: Redacted.make(secret), baseUrl: langfuseReceiver.baseUrl }),
            TelemetryConfig.otlpDestination({ url: otlpReceiver.tracesUrl })
          ],
          ...quiet
        })))
      )
      const generations = langfuseReceiver.spans().filter((s) => s.attributes["langfuse.observation.type"] === "generation")
      const names = generations.map((s) => s.name)
      assert.strictEqual(names.length, 3)
      // The step calls and the extract call are told apart, by core's `dspy.predictor`.
      assert.deepStrictEqual(names, ["Support.react (chat gpt-test)", "Support.react (chat gpt-test)", "Support.extract (chat gpt-test)"])
      for (const generation of generations) {
        assert.strictEqual(generation.attributes["langfuse.observation.prompt.name"], "support-agent")
        assert.strictEqual(generation.attributes["langfuse.observation.prompt.version"], 3)
      }
      assert.deepStrictEqual([...new Set(otlpReceiver.spans().filter((s) => s.attributes["langfuse.observation.type"] === "generation").map((s) => s.name))], [
        "chat gpt-test"
      ])
      // Langfuse names tools after gen_ai.tool.name.
      assert.strictEqual(langfuseReceiver.spans().find((s) => s.attributes["gen_ai.tool.name"] === "lookup_order")?.name, "execute_tool lookup_order")
    }))

  it.scoped("an agent's usage totals reach OTLP but not Langfuse, which sums (and prices) its generations itself", () =>
    Effect.gen(function*() {
      const langfuseReceiver = yield* OtlpReceiver.make()
      const otlpReceiver = yield* OtlpReceiver.make()
      const usage = { "gen_ai.usage.input_tokens": 30, "gen_ai.usage.output_tokens": 12 }
      yield* Effect.void.pipe(
        Effect.withSpan("chat m", { attributes: { "gen_ai.operation.name": "chat", "gen_ai.request.model": "m", ...usage } }),
        Effect.withSpan("invoke_agent Support", { attributes: { "gen_ai.operation.name": "invoke_agent", "gen_ai.request.model": "m", ...usage } }),
        Effect.provide(Telemetry.layer(TelemetryConfig.make({
          destinations: [
            Langfuse.destination({ publicKey: "pk-lf-public", secretKey: Redacted.make(secret), baseUrl: langfuseReceiver.baseUrl }),
            TelemetryConfig.otlpDestination({ url: otlpReceiver.tracesUrl })
          ],
          ...quiet
        })))
      )
      const agentIn = (receiver: OtlpReceiver.Receiver) => OtlpReceiver.byName(receiver.spans(), "invoke_agent Support").attributes
      assert.strictEqual(agentIn(otlpReceiver)["gen_ai.usage.input_tokens"], 30)
      assert.isUndefined(agentIn(langfuseReceiver)["gen_ai.usage.input_tokens"])
      assert.isUndefined(agentIn(langfuseReceiver)["gen_ai.usage.output_tokens"])
      assert.strictEqual(OtlpReceiver.byName(langfuseReceiver.spans(), "chat m").attributes["gen_ai.usage.input_tokens"], 30)
    }))

  it.scoped("LANGFUSE_TRACING_ENABLED=false keeps the keys but exports nothing to Langfuse", () =>
    Effect.gen(function*() {
      const receiver = yield* OtlpReceiver.make()
      const enabled = yield* Effect.map(Telemetry.Telemetry, (t) => t.enabled).pipe(
        Effect.provide(Telemetry.layerFromEnv),
        Effect.withConfigProvider(ConfigProvider.fromJson({
          LANGFUSE_PUBLIC_KEY: "pk-lf-public",
          LANGFUSE_SECRET_KEY: secret,
          LANGFUSE_BASE_URL: receiver.baseUrl,
          LANGFUSE_TRACING_ENABLED: "false"
        }))
      )
      assert.isFalse(enabled)
      assert.strictEqual(receiver.requests.length, 0)
    }))

  it.scoped("observe marks a span with an observation type", () =>
    Effect.gen(function*() {
      const receiver = yield* OtlpReceiver.make()
      yield* Effect.succeed(1).pipe(
        Langfuse.observe("exact_match", "evaluator"),
        Effect.provide(Telemetry.layerOtlp({ url: receiver.tracesUrl }))
      )
      const span = OtlpReceiver.byName(receiver.spans(), "exact_match")
      assert.strictEqual(span.attributes["langfuse.observation.type"], "evaluator")
    }))
})
