import { EventBus, LmConfig, Predict, ReAct, Signature, Tool } from "@effect-dspy/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Metric, MetricLabel, Schema } from "effect"
import { EventLog, EventMetrics } from "../src/index.js"
import * as Logs from "./utils/Logs.js"
import * as ScriptedLm from "./utils/ScriptedLm.js"

const QA = Signature.fromString("question -> answer: int")

// Subscribers drain their buffers in background fibers: wait until they are empty.
const settle = Effect.yieldNow().pipe(Effect.repeatN(50))

describe("EventLog", () => {
  it.effect("logs each event as a structured line; failures at the failure level", () =>
    Effect.gen(function*() {
      const logs = Logs.capture()
      const lm = ScriptedLm.make((_p, call) => (call === 1 ? "no markers at all" : ScriptedLm.reply({ answer: 4 })))
      yield* Effect.gen(function*() {
        yield* Predict.make(QA, { name: "Adder" })({ question: "2+2?" })
        yield* settle
      }).pipe(
        LmConfig.withSettings({ provider: "sim", model: "tiny" }),
        Effect.provide(lm.layer),
        Effect.provide(EventLog.layer({ level: "Debug" }).pipe(Layer.provideMerge(EventBus.layer))),
        Effect.provide(logs.layer)
      )
      const lines = logs.lines.filter((l) => l.annotations["event"] !== undefined)
      assert.deepStrictEqual(lines.map((l) => l.annotations["event"]), [
        "module.start",
        "lm.start",
        "lm.end",
        "parse.failure",
        "parse.retry",
        "lm.start",
        "lm.end",
        "module.end"
      ])
      const end = lines.find((l) => l.annotations["event"] === "lm.end")!
      assert.strictEqual(end.level, "DEBUG")
      assert.strictEqual(end.annotations["provider"], "sim")
      assert.strictEqual(end.annotations["model"], "tiny")
      assert.strictEqual(end.annotations["inputTokens"], 10)
      assert.match(end.message, /^lm\.end sim\/tiny \d+ms 10\+\d+ tokens \(stop\)$/)
      const failure = lines.find((l) => l.annotations["event"] === "parse.failure")!
      assert.strictEqual(failure.level, "WARN")
      assert.strictEqual(failure.annotations["raw"], "no markers at all")
    }))

  it.effect("a pattern picks events; content can be left out", () =>
    Effect.gen(function*() {
      const logs = Logs.capture()
      const lm = ScriptedLm.make((_p, call) => (call === 1 ? "garbage" : ScriptedLm.reply({ answer: 4 })))
      yield* Effect.gen(function*() {
        yield* Predict.make(QA)({ question: "2+2?" })
        yield* settle
      }).pipe(
        Effect.provide(lm.layer),
        Effect.provide(EventLog.layer({ pattern: "parse.*", content: false }).pipe(Layer.provideMerge(EventBus.layer))),
        Effect.provide(logs.layer)
      )
      const events = logs.lines.map((l) => l.annotations["event"]).filter((e) => e !== undefined)
      assert.deepStrictEqual(events, ["parse.failure", "parse.retry"])
      assert.notInclude(logs.text(), "garbage")
    }))

  it.effect("warns when only core's disabled bus is in context", () =>
    Effect.gen(function*() {
      const logs = Logs.capture()
      yield* Effect.void.pipe(Effect.provide(EventLog.layer()), Effect.provide(logs.layer))
      assert.include(logs.text(), "EventLog: the EventBus in context is core's disabled default")
    }))
})

describe("EventMetrics", () => {
  it.effect("counts calls and tokens by provider and model, with a latency summary", () =>
    Effect.gen(function*() {
      const lm = ScriptedLm.make(() => ScriptedLm.reply({ answer: 4 }))
      const qa = Predict.make(QA, { name: "MetricsQA" })
      yield* Effect.gen(function*() {
        yield* Effect.forEach([1, 2, 3], () => qa({ question: "2+2?" }), { concurrency: 3 })
        yield* settle
      }).pipe(
        LmConfig.withSettings({ provider: "metrics-test", model: "m1" }),
        Effect.provide(lm.layer),
        Effect.provide(EventMetrics.layer.pipe(Layer.provideMerge(EventBus.layer)))
      )
      const labels = EventMetrics.lmLabels("metrics-test", "m1")
      const calls = yield* Metric.value(Metric.taggedWithLabels(EventMetrics.lmCalls, [...labels, MetricLabel.make("outcome", "success")]))
      assert.strictEqual(calls.count, 3)
      const input = yield* Metric.value(Metric.taggedWithLabels(EventMetrics.lmInputTokens, labels))
      assert.strictEqual(input.count, 30)
      const latency = yield* Metric.value(Metric.taggedWithLabels(EventMetrics.lmLatency, labels))
      assert.strictEqual(latency.count, 3)
      assert.deepStrictEqual(latency.quantiles.map(([q]) => q), [0.5, 0.95, 0.99])
      const modules = yield* Metric.value(Metric.taggedWithLabels(EventMetrics.moduleCalls, [
        MetricLabel.make("kind", "Predict"),
        MetricLabel.make("module", "MetricsQA"),
        MetricLabel.make("outcome", "success")
      ]))
      assert.strictEqual(modules.count, 3)
    }))

  it.effect("counts tool calls and failures", () =>
    Effect.gen(function*() {
      const Ask = Signature.make("MetricsAsk", { instructions: "", input: { q: Schema.String }, output: { a: Schema.String } })
      const flaky = Tool.make({
        name: "metrics_flaky",
        description: "fails",
        parameters: {},
        handler: () => Effect.fail("boom")
      })
      const replies = [
        ScriptedLm.reply({ next_thought: "t", next_tool_name: "metrics_flaky", next_tool_args: {} }),
        ScriptedLm.reply({ next_thought: "t", next_tool_name: "finish", next_tool_args: {} }),
        ScriptedLm.reply({ reasoning: "r", a: "x" })
      ]
      const lm = ScriptedLm.make((_p, call) => replies[call - 1]!)
      yield* Effect.gen(function*() {
        yield* ReAct.make(Ask, { tools: [flaky] })({ q: "?" })
        yield* settle
      }).pipe(Effect.provide(lm.layer), Effect.provide(EventMetrics.layer.pipe(Layer.provideMerge(EventBus.layer))))
      const failed = yield* Metric.value(Metric.taggedWithLabels(EventMetrics.toolCalls, [
        MetricLabel.make("tool", "metrics_flaky"),
        MetricLabel.make("outcome", "error")
      ]))
      assert.strictEqual(failed.count, 1)
    }))
})
