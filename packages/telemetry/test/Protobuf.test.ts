import { assert, describe, it } from "@effect/vitest"
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags } from "@opentelemetry/api"
import { ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer"
import { resourceFromAttributes } from "@opentelemetry/resources"
import { BasicTracerProvider, type ReadableSpan, type SpanProcessor } from "@opentelemetry/sdk-trace-base"
import { FastCheck, Redacted } from "effect"
import { prepareSpan } from "../src/internal/pipeline.js"
import { encodeSpans } from "../src/internal/protobuf.js"
import { makeScrubber } from "../src/internal/redact.js"
import type { DeferredContent } from "../src/internal/content.js"

const recorder = () => {
  const spans: Array<ReadableSpan> = []
  const processor: SpanProcessor = {
    onStart: () => {},
    onEnd: (span) => void spans.push(span),
    forceFlush: async () => {},
    shutdown: async () => {}
  }
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": "svc", "deployment.environment": "test", "host.cpus": 2 }),
    spanProcessors: [processor]
  })
  return { spans, tracer: provider.getTracer("@effect-dspy/telemetry", "0.1.0"), other: provider.getTracer("other") }
}

const secret = "sk-live-0123456789abcdefXYZ"

// Spans with every kind of field the SDK's serializer writes.
const sampleSpans = () => {
  const { other, spans, tracer } = recorder()
  const root = tracer.startSpan("Predict(QA)", {
    kind: SpanKind.INTERNAL,
    attributes: { "dspy.module.kind": "Predict", "langfuse.observation.type": "span", weird: "ünïcødé ✓ 𝄞" }
  })
  root.end()
  const parent = root.spanContext()
  const child = tracer.startSpan("chat sim-1", {
    kind: SpanKind.CLIENT,
    attributes: {
      "gen_ai.usage.input_tokens": 120,
      "gen_ai.request.temperature": 0.7,
      big: 2 ** 40,
      negative: -5,
      "gen_ai.response.finish_reasons": ["stop", "length"],
      flags: [true, false],
      ratios: [1.5, 2],
      ok: true,
      leaked: `key ${secret} here`,
      "langfuse.observation.input": "replaced by content"
    },
    links: [{ context: { ...parent, traceFlags: TraceFlags.SAMPLED, isRemote: true }, attributes: { why: "retry" } }]
  }, trace.setSpan(ROOT_CONTEXT, root))
  child.addEvent(`event with ${secret}`, { attempt: 2, note: "x".repeat(300) })
  child.setStatus({ code: SpanStatusCode.ERROR, message: `failed: ${secret}` })
  child.end()
  const long = other.startSpan("long ".repeat(100), { kind: SpanKind.SERVER, attributes: { text: "é".repeat(5000) } })
  long.end()
  return spans
}

const content = (spans: ReadonlyArray<ReadableSpan>): DeferredContent => ({
  sink: () => {},
  defer: () => false,
  attributesFor: (span) =>
    span === spans[1]
      ? { "langfuse.observation.input": `[{"role":"user","content":"hi ${secret}"}]`, "langfuse.observation.output": "hello" }
      : undefined
})

describe("OTLP/protobuf encoding", () => {
  it("writes exactly the bytes of the SDK's ProtobufTraceSerializer", () => {
    const spans = sampleSpans()
    assert.strictEqual(spans[1]!.parentSpanContext?.spanId, spans[0]!.spanContext().spanId)
    const ours = encodeSpans(spans, undefined, undefined, 16)
    const sdk = ProtobufTraceSerializer.serializeRequest(spans)!
    assert.isTrue(Buffer.from(ours).equals(Buffer.from(sdk)))
  })

  it("content and scrubbing written in place equal the SDK's bytes for the prepared copies", () => {
    const spans = sampleSpans()
    const deferred = content(spans)
    const scrub = makeScrubber([Redacted.make(secret)])!
    const ours = encodeSpans(spans, deferred.attributesFor, scrub)
    const sdk = ProtobufTraceSerializer.serializeRequest(spans.map((span) => prepareSpan(span, deferred, scrub)))!
    assert.isTrue(Buffer.from(ours).equals(Buffer.from(sdk)))
    assert.notInclude(Buffer.from(ours).toString("latin1"), secret)
  })

  it.prop("any attribute values: the same bytes as the SDK's", [
    FastCheck.dictionary(
      FastCheck.string({ minLength: 1, maxLength: 12 }),
      FastCheck.oneof(
        FastCheck.string({ maxLength: 300, unit: "binary" }),
        FastCheck.integer(),
        FastCheck.double({ noNaN: true }),
        FastCheck.maxSafeInteger(),
        FastCheck.boolean(),
        FastCheck.array(FastCheck.string({ maxLength: 20 }), { maxLength: 5 }),
        FastCheck.array(FastCheck.integer(), { maxLength: 5 })
      )
    )
  ], ([attributes]) => {
    const { spans, tracer } = recorder()
    tracer.startSpan("s", { attributes }).end()
    const ours = encodeSpans(spans, undefined, undefined, 16)
    assert.isTrue(Buffer.from(ours).equals(Buffer.from(ProtobufTraceSerializer.serializeRequest(spans)!)))
  })
})
