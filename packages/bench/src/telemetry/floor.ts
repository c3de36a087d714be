/**
 * The floor of tracing's cost on the telemetry benchmark's workload: what the OpenTelemetry SDK
 * itself costs for the same spans, with no Effect and no effect-dspy. Per call, a bare `fetch`
 * of the chat completion ChainOfThought sends (to the same simulator, so with the same
 * latency), and the same `fetch` inside the two spans a traced ChainOfThought call exports
 * (`ChainOfThought(QA)` and `chat sim-1`, nested, with the same attributes: module and GenAI
 * attributes, the prompt and reply as the conventions' JSON, a `traceparent` header on the
 * request), made with the SDK's `BasicTracerProvider` + `BatchSpanProcessor` + OTLP/HTTP
 * protobuf exporter (what `@opentelemetry/exporter-trace-otlp-proto` builds) to a loopback
 * receiver in a child process. The difference between the two is the floor.
 *
 *   node --expose-gc --import tsx packages/bench/src/telemetry/floor.ts [--calls 3000] [--concurrency 64] [--rounds 3]
 *     [--latency uniform:500-2000]
 *
 * `overhead.ts` runs these two variants in the same run as its own modes.
 */
import { ChainOfThought, ChatAdapter, Signature } from "@effect-dspy/core"
import { SimulatorConfig } from "@effect-dspy/simulator"
import { context as otelContext, SpanKind, trace } from "@opentelemetry/api"
import { OTLPExporterBase } from "@opentelemetry/otlp-exporter-base"
import { convertLegacyHttpOptions, createOtlpHttpExportDelegate } from "@opentelemetry/otlp-exporter-base/node-http"
import { ProtobufTraceSerializer, TraceExporterMetricsHelper } from "@opentelemetry/otlp-transformer"
import { resourceFromAttributes } from "@opentelemetry/resources"
import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type SpanExporter } from "@opentelemetry/sdk-trace-base"
import { pathToFileURL } from "node:url"
import { measure, median, pool, runHeader, type SimulatorProcess, startSimulator } from "../harness/measure.js"
import { startReceiver } from "./receiver.js"

export const QA = Signature.fromString("question -> answer", { name: "QA", instructions: "Answer the question in one sentence." })
const withReasoning = ChainOfThought.withReasoning(QA)

/**
 * The simulator in its own process, answering after `latency` (`uniform:500-2000`, ...), each
 * question always in the same time (its latency drawn from a hash of the request), so that every
 * mode of a run waits the same.
 */
export const startLatencySimulator = (latency: string): Promise<SimulatorProcess> => {
  const parsed = SimulatorConfig.parseLatency(latency)
  if (parsed._tag === "None") return Promise.reject(new Error(`--latency: expected 200, uniform:500-2000 or lognormal:400,0.6; got ${latency}`))
  return startSimulator({ latency: parsed.value, latencySampling: "request" })
}

/** The question of call `i` (the same in every variant, so the simulator gives it the same latency). */
export const question = (i: number) => `What is ${i} + ${i}?`

/** A request's messages in OpenAI's shape. */
export type Messages = ReadonlyArray<{ readonly role: string; readonly content: string }>

/** The messages ChainOfThought sends for question `q` (the adapter's rendering, in OpenAI's shape). */
export const messagesFor = (q: string): Messages =>
  ChatAdapter.adapter
    .format({ signature: withReasoning, instructions: QA.instructions, demos: [], inputs: { question: q }, failedReplies: [] })
    .content.map((message) => ({
      role: message.role,
      content: message.role === "system"
        ? message.content
        : message.content.map((part) => (part.type === "text" ? part.text : "")).join("")
    }))

type Reply = {
  readonly id: string
  readonly model: string
  readonly choices: Array<{ readonly message: { readonly content: string }; readonly finish_reason: string }>
  readonly usage: { readonly prompt_tokens: number; readonly completion_tokens: number }
}

const requestHeaders = { "content-type": "application/json", accept: "application/json" }

/** The bare request: `call(i)` asks question `i`. */
export const bare = (simUrl: string) => async (i: number): Promise<void> => {
  const response = await fetch(`${simUrl}/v1/chat/completions`, {
    method: "POST",
    headers: requestHeaders,
    body: JSON.stringify({ model: "sim-1", messages: messagesFor(question(i)) })
  })
  const json = (await response.json()) as Reply
  if (typeof json.choices[0]?.message.content !== "string") throw new Error("bad reply")
}

// The OTLP/HTTP protobuf trace exporter as `@opentelemetry/exporter-trace-otlp-proto` builds it.
const protoExporter = (url: string) =>
  new OTLPExporterBase<Array<ReadableSpan>>(
    createOtlpHttpExportDelegate(
      convertLegacyHttpOptions({ url }, "TRACES", "v1/traces", { "Content-Type": "application/x-protobuf" }),
      ProtobufTraceSerializer,
      "otlp_http_span_exporter",
      TraceExporterMetricsHelper,
      undefined
    )
  )

/** A chat completion's reply, as the spans record it. */
export interface ReplyFields {
  readonly id: string
  readonly model: string
  readonly content: string
  readonly finishReason: string
  readonly inputTokens: number
  readonly outputTokens: number
  /** The module's parsed output (its observation output); the raw reply when not given. */
  readonly output?: { readonly reasoning: string; readonly answer: string } | undefined
}

/** Options of `sdkSpans`. */
export interface SpanOptions {
  readonly tracesUrl: string
  readonly queueSize: number
  readonly server: { readonly address: string; readonly port: number }
  /** Record the prompt and reply (as effect-dspy does with content capture on); default true. */
  readonly content?: boolean | undefined
}

/** The module span's name and attributes (a traced `ChainOfThought(QA)` call's). */
export const moduleSpan = {
  name: "ChainOfThought(QA)",
  attributes: {
    "dspy.module.kind": "ChainOfThought",
    "dspy.module.name": "QA",
    "dspy.signature": "QA",
    "langfuse.observation.type": "chain",
    "langfuse.trace.name": "ChainOfThought(QA)"
  }
} as const

/** The LM span's name and its attributes at start, for a call to `server`. */
export const chatSpan = (server: { readonly address: string; readonly port: number }) => ({
  name: "chat sim-1",
  attributes: {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "openai-compatible",
    "gen_ai.request.model": "sim-1",
    "gen_ai.output.type": "text",
    "dspy.adapter": "ChatAdapter",
    "dspy.signature": "QA",
    "dspy.predictor": "QA",
    "langfuse.observation.type": "generation",
    "langfuse.trace.name": "ChainOfThought(QA)",
    "server.address": server.address,
    "server.port": server.port
  }
})

/** What the LM span records of the reply. */
export const replyAttributes = (reply: ReplyFields) => ({
  "gen_ai.response.model": reply.model,
  "gen_ai.response.id": reply.id,
  "gen_ai.response.finish_reasons": [reply.finishReason],
  "gen_ai.usage.input_tokens": reply.inputTokens,
  "gen_ai.usage.output_tokens": reply.outputTokens
})

/** With content capture: the prompt and reply on the LM span, as the conventions' JSON. */
export const chatContentAttributes = (messages: Messages, reply: ReplyFields) => {
  const [system, ...rest] = messages
  return {
    "gen_ai.system_instructions": JSON.stringify([{ type: "text", content: system?.content ?? "" }]),
    "gen_ai.input.messages": JSON.stringify(rest.map((m) => ({ role: m.role, parts: [{ type: "text", content: m.content }] }))),
    "gen_ai.output.messages": JSON.stringify([
      { role: "assistant", parts: [{ type: "text", content: reply.content }], finish_reason: reply.finishReason }
    ])
  }
}

/** With content capture: the module's input and output on its span. */
export const moduleContentAttributes = (i: number, reply: ReplyFields) => ({
  "langfuse.observation.input": JSON.stringify({ question: question(i) }),
  "langfuse.observation.output": JSON.stringify(reply.output ?? { reasoning: "", answer: reply.content })
})

/**
 * The SDK's batch span processor and OTLP/HTTP protobuf exporter to `tracesUrl`, counting the
 * spans the collector accepted as the results come back (nothing assumed).
 */
export const countingProcessor = (tracesUrl: string, queueSize: number) => {
  const exporter = protoExporter(tracesUrl)
  const counts = { exported: 0, failed: 0 }
  const counting: SpanExporter = {
    export: (spans, done) =>
      exporter.export(spans, (result) => {
        // ExportResultCode.SUCCESS (`@opentelemetry/core`, not a dependency of this package)
        if (result.code === 0) counts.exported += spans.length
        else counts.failed += spans.length
        done(result)
      }),
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush()
  }
  return {
    processor: new BatchSpanProcessor(counting, { maxQueueSize: queueSize }),
    counts: (): { readonly exported: number; readonly failed: number } => ({ ...counts })
  }
}

/**
 * The SDK's side of a traced call, without the request: `start(i)` opens the call's two spans
 * (`ChainOfThought(QA)` and `chat sim-1`, with the attributes a traced ChainOfThought call
 * exports) for the request's `messages` (made by the caller: rendering the prompt is not
 * tracing's work), and gives the `traceparent` the request would carry and `end(reply)`, which
 * records the reply (GenAI attributes and, with `content`, the prompt and reply as the
 * conventions' JSON and the module's input and output) and ends both. `shutdown` exports what
 * is left.
 */
export const sdkSpans = ({ content = true, queueSize, server, tracesUrl }: SpanOptions) => {
  const { counts, processor } = countingProcessor(tracesUrl, queueSize)
  const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ "service.name": "floor" }), spanProcessors: [processor] })
  const tracer = provider.getTracer("floor", "0.1.0")
  const chatStart = chatSpan(server)
  const start = (i: number, messages: Messages) => {
    const module = tracer.startSpan(moduleSpan.name, { kind: SpanKind.INTERNAL, attributes: moduleSpan.attributes })
    const moduleContext = trace.setSpan(otelContext.active(), module)
    const chat = tracer.startSpan(chatStart.name, { kind: SpanKind.CLIENT, attributes: chatStart.attributes }, moduleContext)
    const named = chat.spanContext()
    const end = (reply: ReplyFields) => {
      chat.setAttributes(replyAttributes(reply))
      if (content) chat.setAttributes(chatContentAttributes(messages, reply))
      chat.end()
      if (content) module.setAttributes(moduleContentAttributes(i, reply))
      module.end()
    }
    return { traceparent: `00-${named.traceId}-${named.spanId}-01`, end }
  }
  return { start, shutdown: () => provider.shutdown(), counts }
}

/** The same request inside the SDK's two spans; `shutdown` exports what is left. */
export const traced = (simUrl: string, tracesUrl: string, queueSize: number) => {
  const target = new URL(`${simUrl}/v1/chat/completions`)
  const spans = sdkSpans({ tracesUrl, queueSize, server: { address: target.hostname, port: Number(target.port) } })
  const call = async (i: number): Promise<void> => {
    // rendered for the request, as the bare variant renders it: not charged to the spans
    const messages = messagesFor(question(i))
    const { end, traceparent } = spans.start(i, messages)
    const response = await fetch(target, {
      method: "POST",
      headers: { ...requestHeaders, traceparent },
      body: JSON.stringify({ model: "sim-1", messages })
    })
    const json = (await response.json()) as Reply
    const choice = json.choices[0]
    if (typeof choice?.message.content !== "string") throw new Error("bad reply")
    end({
      id: json.id,
      model: json.model,
      content: choice.message.content,
      finishReason: choice.finish_reason,
      inputTokens: json.usage.prompt_tokens,
      outputTokens: json.usage.completion_tokens
    })
  }
  return { call, shutdown: spans.shutdown, counts: spans.counts }
}

const gc = (globalThis as { gc?: () => void }).gc

const main = async () => {
  console.log(runHeader())
  const args = new Map<string, string>()
  for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ""), process.argv[i + 1] ?? "")
  const calls = Number(args.get("calls") ?? 3000)
  const concurrency = Number(args.get("concurrency") ?? 64)
  const rounds = Number(args.get("rounds") ?? 3)
  const sim = await startLatencySimulator(args.get("latency") ?? "uniform:500-2000")
  const receiver = await startReceiver()
  try {
    const bareRounds: Array<number> = []
    const tracedRounds: Array<number> = []
    for (let round = 0; round < rounds; round++) {
      // The last round's garbage is collected outside the next window (run node with --expose-gc).
      gc?.()
      const b = bare(sim.url)
      let i = 0
      bareRounds.push((await measure(calls, (n) => pool(n, concurrency, () => b(i++)))).cpuMicrosPerCall)
      gc?.()
      const t = traced(sim.url, `${receiver.baseUrl}/v1/traces`, Math.max(2048, calls * 2))
      let j = 0
      tracedRounds.push((await measure(calls, async (n) => {
        await pool(n, concurrency, () => t.call(j++))
        await t.shutdown()
      })).cpuMicrosPerCall)
    }
    const extra = median(tracedRounds.map((t, i) => t - bareRounds[i]!))
    console.log(`fetch ${median(bareRounds).toFixed(0)} µs/call, with the SDK's spans ${median(tracedRounds).toFixed(0)} µs/call`)
    console.log(`floor: the SDK's two spans and their export cost ${extra.toFixed(0)} µs/call (paired median)`)
  } finally {
    sim.stop()
    receiver.stop()
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href && (process.argv[1] ?? "").endsWith("floor.ts")) {
  main().then(() => process.exit(0), (error) => {
    console.error(error)
    process.exit(1)
  })
}
