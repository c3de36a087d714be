/**
 * Tracing's CPU per call without the network's noise: ChainOfThought over an in-process model
 * that answers on the next turn of the event loop (`setImmediate`, as a socket read would; the
 * reply a simulator would write), so that every microsecond measured is the program's. The SDK
 * floor's calls answer the same way: on both sides 64 calls are in flight across turns, so their
 * spans live as long (an answer within the same turn, as this floor had, lets the SDK's spans die
 * young while ours are held across turns, and GC then counts against us alone). Modes:
 *
 * - `untraced`: Effect's tracing turned off (`Effect.withTracerEnabled(false)`): no span is made;
 * - `off`: no destination (`Telemetry.layer` with none): Effect's spans are made, nothing is
 *   recorded or exported (`off - untraced` is what Effect's span machinery costs);
 * - `spans`: Effect's spans alone (a tracer forwarding to Effect's built-in one, nothing exported);
 * - `export`: `Telemetry.layerOtlp` with content capture (and core's redaction patterns, the
 *   default) to a loopback receiver in a child process: what a user who asks for content gets;
 * - `no-redaction`: content captured without core's redaction patterns (what redaction costs);
 * - `no-content`: exporting without content capture (the default of the layers);
 * - `sdk`: the floor: the OpenTelemetry SDK's two spans with the same names, kinds and
 *   attributes as `export`'s, the prompt and reply as the conventions' JSON (`floor.ts`'s
 *   `sdkSpans`), exported the same way (OTLP/HTTP protobuf, `BatchSpanProcessor`), with no
 *   Effect and no model call. The request's messages are rendered before the timed window
 *   (rendering a prompt is not tracing's work: in the other modes it is in `off` too);
 * - `sdk-no-content`: the same spans without the content attributes (the floor of `no-content`);
 * - `sdk-base`: the `sdk` modes' loop with no span (the pool, the turn of the event loop, the
 *   reply's text), subtracted from them, so that the floor is the spans' cost alone;
 * - `bridge`: the Effect floor: the same two spans (names, kinds, attributes, parent, content)
 *   made by an Effect program through Effect's own OpenTelemetry bridge, `@effect/opentelemetry`
 *   (`NodeSdk.layer` with the floor's `BatchSpanProcessor` and exporter), with `Effect.withSpan`
 *   and `Effect.annotateCurrentSpan` and none of effect-dspy's code: what any Effect program
 *   pays to export these spans with the building blocks the issue names;
 * - `bridge-no-content`: the same without the content attributes;
 * - `bridge-base`: the `bridge` program under Effect's built-in tracer (its spans made with
 *   their attributes, nothing recorded or exported, no content: what `off` is to ours),
 *   subtracted from the `bridge` modes;
 * - `bridge-cot`, `bridge-cot-no-content`, `bridge-cot-base`: the same three around the same
 *   ChainOfThought call as the other modes make (run untraced inside the two spans) instead of
 *   the bare wait: the bridge's spans among as many fiber steps and as much other garbage as ours;
 * - `otlp-tracer`, `otlp-tracer-cot` (and their `-no-content`): the issue's other route, the
 *   same spans as Effect's own spans exported by `@effect/opentelemetry`'s `OtlpTracer`
 *   (protobuf, the platform's HTTP client, its default batching, no OpenTelemetry SDK), around
 *   the bare wait and inside ChainOfThought; baselines `bridge-base` and `bridge-cot-base`. Not
 *   in the default modes (the suite's row runs long enough): pass them with `--modes`.
 *
 * Each mode runs in its own child process (a warm-up, then `--reps` measured runs of `--calls`
 * calls, of which the least CPU counts: load from other work only adds): modes that share
 * a process share its JIT's type feedback and its heap, and the ratio then depended on which
 * other modes ran beside them (1.32-1.45x alone, 1.67-1.92x with all seven in one process).
 * Rounds alternate the order of the modes (every other round reversed). Figures: CPU µs per call
 * of each mode with every round's figure, tracing's cost (`mode - off`, this round's `off`) and
 * the SDK's (`sdk - sdk-base`, this round's), the bridge's (`bridge - bridge-base`,
 * `bridge-cot - bridge-cot-base`), and the ratios per round, with their median and range (target
 * of issue 22: at most 1.5x, for `export` against `sdk`); the verdict lines tracing's cost up as
 * SDK floor -> `@effect/opentelemetry` around the bare wait -> the same inside ChainOfThought -> ours.
 *
 * `--alloc true` adds, per mode, the bytes a call allocates (garbage included), measured in one
 * more run after the timed ones (`allocation.ts`: V8's sampling heap profiler, whose hooks would
 * skew the CPU figures): unlike CPU time on a shared machine, it does not move with the load, so
 * it tells two versions apart where the CPU figures' spread cannot.
 *
 *   node --expose-gc --import tsx packages/bench/src/telemetry/cpu.ts [--calls 5000] [--rounds 5] [--concurrency 64]
 *     [--warmup 2000] [--reps 3] [--alloc true]
 *     [--modes off,export,no-content,sdk,sdk-no-content,sdk-base,bridge,bridge-no-content,bridge-base,bridge-cot,bridge-cot-no-content,bridge-cot-base,
 *              otlp-tracer,otlp-tracer-no-content,otlp-tracer-cot,otlp-tracer-cot-no-content,untraced,spans,no-redaction]
 *     [--json FILE]
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Response from "@effect/ai/Response"
import { ChainOfThought, LmConfig } from "@effect-dspy/core"
import { Telemetry, TelemetryConfig } from "@effect-dspy/telemetry"
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import * as OtlpSerialization from "@effect/opentelemetry/OtlpSerialization"
import * as OtlpTracer from "@effect/opentelemetry/OtlpTracer"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Context, DefaultServices, Effect, Layer, ManagedRuntime, Stream, Tracer } from "effect"
import { spawn } from "node:child_process"
import { writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { median, pool, runHeader } from "../harness/measure.js"
import { allocatedBytes } from "./allocation.js"
import * as Floor from "./floor.js"
import { startReceiver } from "./receiver.js"

const args = new Map<string, string>()
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ""), process.argv[i + 1] ?? "")
const CALLS = Number(args.get("calls") ?? 5000)
const ROUNDS = Number(args.get("rounds") ?? 5)
const CONCURRENCY = Number(args.get("concurrency") ?? 64)
const WARMUP = Number(args.get("warmup") ?? 2000)
const REPS = Number(args.get("reps") ?? 3)
const JSON_FILE = args.get("json")
const ALLOC = args.get("alloc") === "true"
const allModes = [
  "off",
  "export",
  "no-content",
  "sdk",
  "sdk-no-content",
  "sdk-base",
  "bridge",
  "bridge-no-content",
  "bridge-base",
  "bridge-cot",
  "bridge-cot-no-content",
  "bridge-cot-base",
  "otlp-tracer",
  "otlp-tracer-no-content",
  "otlp-tracer-cot",
  "otlp-tracer-cot-no-content",
  "untraced",
  "spans",
  "no-redaction"
] as const
type Mode = (typeof allModes)[number]
// Every mode but the OtlpTracer floor and the diagnostic ones (pass those with `--modes`).
const optionalModes: ReadonlyArray<string> = ["untraced", "spans", "no-redaction"]
const defaultModes: ReadonlyArray<Mode> = allModes.filter((m) => !m.startsWith("otlp-tracer") && !optionalModes.includes(m))
const isMode = (m: string): m is Mode => allModes.some((a) => a === m)

const server = { address: "127.0.0.1", port: 8787 }
const answer = (i: number) => `${i + i}.`
const reasoning = (i: number) => `Adding ${i} to itself gives ${i + i}.`
const replyText = (i: number) => `[[ ## reasoning ## ]]\n${reasoning(i)}\n\n[[ ## answer ## ]]\n${answer(i)}\n\n[[ ## completed ## ]]`
// The reply of call `i` as the floors' spans record it.
const replyFields = (i: number, content: string): Floor.ReplyFields => ({
  id: `chatcmpl-${i}`,
  model: "sim-1",
  content,
  finishReason: "stop",
  inputTokens: 180,
  outputTokens: Math.ceil(content.length / 4),
  output: { reasoning: reasoning(i), answer: answer(i) }
})

// The answer comes on the next turn of the event loop, as a response read from a socket would.
const nextTurn = <A>(answer: () => A): Effect.Effect<A> =>
  Effect.async<A>((resume) => {
    const handle = setImmediate(() => resume(Effect.sync(answer)))
    return Effect.sync(() => clearImmediate(handle))
  })

const cot = ChainOfThought.make(Floor.QA)
const withSettings = LmConfig.withSettings({ provider: "openai-compatible", model: "sim-1", server })
const workload = (n: number) =>
  Effect.forEach(Array.from({ length: n }, (_, i) => i), (i) => cot({ question: Floor.question(i) }), { concurrency: CONCURRENCY, discard: true }).pipe(
    withSettings
  )

// The model answers on the next turn with what the simulator would write; the question's number
// is read back from the prompt so that each call's reply differs as a real one would.
const model = Layer.effect(
  LanguageModel.LanguageModel,
  LanguageModel.make({
    generateText: (options) =>
      nextTurn((): Array<Response.PartEncoded> => {
        const last = options.prompt.content[options.prompt.content.length - 1]
        const text = last !== undefined && last.role === "user" ? last.content.map((p) => (p.type === "text" ? p.text : "")).join("") : ""
        const i = Number(/What is (\d+) \+/.exec(text)?.[1] ?? 0)
        const reply = replyText(i)
        return [
          { type: "response-metadata", id: `chatcmpl-${i}`, modelId: "sim-1" },
          { type: "text", text: reply },
          { type: "finish", reason: "stop", usage: { inputTokens: 180, outputTokens: Math.ceil(reply.length / 4), totalTokens: 180 + Math.ceil(reply.length / 4) } }
        ]
      }),
    streamText: () => Stream.die("not used")
  })
)

// The Effect floor's call: the floor's two spans around the model's wait, as an Effect program
// writes them with Effect's own span API (the reply's attributes, and with `content` the prompt
// and reply, annotated once it is in). `hosted`: around the same ChainOfThought call as the
// other modes make, run untraced inside them (so the spans live in the same program as ours:
// as many fiber steps under them, as much other garbage beside them), instead of the bare wait.
const chatStart = Floor.chatSpan(server)
const bridgeCall = (i: number, messages: Floor.Messages, content: boolean, hosted: boolean) =>
  Effect.as(
    hosted ? Effect.withTracerEnabled(cot({ question: Floor.question(i) }), false) : nextTurn(() => undefined),
    replyFields(i, replyText(i))
  ).pipe(
    Effect.tap((reply) =>
      Effect.annotateCurrentSpan(
        content ? { ...Floor.replyAttributes(reply), ...Floor.chatContentAttributes(messages, reply) } : Floor.replyAttributes(reply)
      )
    ),
    Effect.withSpan(chatStart.name, { kind: "client", attributes: chatStart.attributes }),
    Effect.tap((reply) => (content ? Effect.annotateCurrentSpan(Floor.moduleContentAttributes(i, reply)) : Effect.void)),
    Effect.withSpan(Floor.moduleSpan.name, { kind: "internal", attributes: Floor.moduleSpan.attributes })
  )

const native = Context.get(DefaultServices.liveServices, Tracer.Tracer)
const forwarding = Tracer.make({ span: (...spanArgs) => native.span(...spanArgs), context: native.context })

const gc = (globalThis as { gc?: () => void }).gc

/** One child: `mode` warmed up, then measured once; prints `result {json}`. */
const child = async (mode: Mode, tracesUrl: string): Promise<void> => {
  // Room for every span of the larger of the warm-up and a measured run (each is checked for drops).
  const queue = { maxQueueSize: Math.max(2048, Math.max(CALLS, WARMUP) * 2) }
  const layerOf = (m: Mode): Layer.Layer<Telemetry.Telemetry> => {
    switch (m) {
      case "export":
        return Telemetry.layerOtlp({ url: tracesUrl, batch: queue, content: { capture: true } })
      case "no-redaction":
        return Telemetry.layerOtlp({ url: tracesUrl, batch: queue, content: { capture: true, redactKnownPatterns: false } })
      case "no-content":
        return Telemetry.layerOtlp({ url: tracesUrl, batch: queue })
      default:
        return Telemetry.layer(TelemetryConfig.make({ destinations: [] }))
    }
  }
  const runtime = ManagedRuntime.make(model)
  const sdkRound = async (n: number, spans: boolean, content: boolean) => {
    // The requests' messages exist before the window: rendering them is the adapter's work.
    const messages = Array.from({ length: n }, (_, i) => Floor.messagesFor(Floor.question(i)))
    gc?.()
    const cpu = process.cpuUsage()
    const sdk = spans ? Floor.sdkSpans({ tracesUrl, queueSize: queue.maxQueueSize, server, content }) : undefined
    let i = 0
    await pool(n, CONCURRENCY, async () => {
      const call = i++
      const started = sdk?.start(call, messages[call]!)
      const reply = replyText(call)
      // The model's answer arrives on the next turn of the event loop, as the Effect modes' does.
      await new Promise<void>((resolve) => setImmediate(resolve))
      started?.end(replyFields(call, reply))
    })
    await sdk?.shutdown()
    const used = process.cpuUsage(cpu)
    if (sdk !== undefined && sdk.counts().exported !== 2 * n) throw new Error(`sdk: ${JSON.stringify(sdk.counts())} exported of ${2 * n} spans`)
    return (used.user + used.system) / n
  }
  const bridgeRound = async (n: number, spans: boolean, content: boolean, hosted: boolean) => {
    const messages = Array.from({ length: n }, (_, i) => Floor.messagesFor(Floor.question(i)))
    const calls = Effect.forEach(messages, (m, i) => bridgeCall(i, m, content, hosted), { concurrency: CONCURRENCY, discard: true }).pipe(withSettings)
    gc?.()
    const cpu = process.cpuUsage()
    const floor = spans ? Floor.countingProcessor(tracesUrl, queue.maxQueueSize) : undefined
    // The layer's release flushes and shuts the provider down: every span is exported by then.
    await runtime.runPromise(
      floor === undefined ? calls : Effect.provide(calls, NodeSdk.layer(() => ({ resource: { serviceName: "floor" }, spanProcessor: floor.processor })))
    )
    const used = process.cpuUsage(cpu)
    if (floor !== undefined && floor.counts().exported !== 2 * n) throw new Error(`bridge: ${JSON.stringify(floor.counts())} exported of ${2 * n} spans`)
    return (used.user + used.system) / n
  }
  // The other route the issue names: Effect's own spans exported by `@effect/opentelemetry`'s
  // `OtlpTracer` (protobuf, over the platform's HTTP client), with its default batching; no
  // OpenTelemetry SDK. Its baselines are the bridge's (the same program under Effect's built-in
  // tracer). Not counted per span: the tracer exposes no counts (its release flushes the rest).
  const otlpRound = async (n: number, content: boolean, hosted: boolean) => {
    const messages = Array.from({ length: n }, (_, i) => Floor.messagesFor(Floor.question(i)))
    const calls = Effect.forEach(messages, (m, i) => bridgeCall(i, m, content, hosted), { concurrency: CONCURRENCY, discard: true }).pipe(withSettings)
    const tracer = OtlpTracer.layer({ url: tracesUrl, resource: { serviceName: "floor" } }).pipe(
      Layer.provide([OtlpSerialization.layerProtobuf, NodeHttpClient.layerUndici])
    )
    gc?.()
    const cpu = process.cpuUsage()
    await runtime.runPromise(Effect.provide(calls, tracer))
    const used = process.cpuUsage(cpu)
    return (used.user + used.system) / n
  }
  const effectRound = async (n: number) => {
    const program = mode === "untraced"
      ? Effect.withTracerEnabled(workload(n), false)
      : mode === "spans"
      ? Effect.withTracer(workload(n), forwarding)
      : Effect.gen(function*() {
        const telemetry = yield* Telemetry.Telemetry
        yield* workload(n)
        return telemetry
      }).pipe(
        Effect.provide(layerOf(mode)),
        // read after the layer has shut down (its flush done): every span was exported
        Effect.flatMap((telemetry) => telemetry.stats)
      )
    gc?.()
    const cpu = process.cpuUsage()
    const stats = await runtime.runPromise(program)
    const used = process.cpuUsage(cpu)
    const exported = Array.isArray(stats) ? stats.reduce((a, s) => a + s.exported, 0) : undefined
    if (exported !== undefined && (mode === "export" || mode === "no-content" || mode === "no-redaction") && exported !== 2 * n) {
      throw new Error(`${mode}: ${exported} exported of ${2 * n} spans`)
    }
    return (used.user + used.system) / n
  }
  const roundOf = (n: number) =>
    mode === "sdk" || mode === "sdk-no-content" || mode === "sdk-base"
      ? sdkRound(n, mode !== "sdk-base", mode === "sdk")
      : mode.startsWith("otlp-tracer")
      ? otlpRound(n, !mode.endsWith("no-content"), mode.startsWith("otlp-tracer-cot"))
      : mode.startsWith("bridge")
      ? bridgeRound(n, !mode.endsWith("-base"), !mode.endsWith("no-content") && !mode.endsWith("-base"), mode.startsWith("bridge-cot"))
      : effectRound(n)
  try {
    await roundOf(WARMUP)
    const reps: Array<number> = []
    for (let r = 0; r < REPS; r++) reps.push(await roundOf(CALLS))
    // After the timed runs: the profiler's hooks cost CPU time.
    const allocKiBPerCall = ALLOC ? (await allocatedBytes(() => roundOf(CALLS))) / CALLS / 1024 : undefined
    // Other work on the machine only ever adds CPU time (caches, the other hyperthread, GC
    // helper threads slowed): the least of the runs is the closest to a quiet machine's.
    console.log(`result ${JSON.stringify({ mode, cpuMicrosPerCall: Math.min(...reps), reps, allocKiBPerCall })}`)
  } finally {
    await runtime.dispose()
  }
}

const script = fileURLToPath(import.meta.url)

interface ChildResult {
  readonly cpuMicrosPerCall: number
  readonly allocKiBPerCall?: number | undefined
}

const runChild = (mode: Mode, tracesUrl: string): Promise<ChildResult> =>
  new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [...process.execArgv, script, ...process.argv.slice(2), "--child", mode, "--traces-url", tracesUrl], {
      stdio: ["ignore", "pipe", "inherit"]
    })
    let out = ""
    proc.stdout.setEncoding("utf8").on("data", (d: string) => (out += d))
    proc.on("error", reject)
    proc.on("close", (code) => {
      const line = out.split("\n").find((l) => l.startsWith("result "))
      if (code !== 0 || line === undefined) return reject(new Error(`${mode}: child exited with ${code}\n${out}`))
      resolve(JSON.parse(line.slice(7)) as ChildResult)
    })
  })

const range = (xs: ReadonlyArray<number>, digits = 0) =>
  `${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}`

const parent = async () => {
  const modes = (args.get("modes")?.split(",") ?? defaultModes).map((m) => {
    if (!isMode(m)) throw new Error(`--modes takes ${allModes.join(", ")}; got ${m}`)
    return m
  })
  console.log(runHeader())
  console.log(
    `ChainOfThought over an in-process model: ${CALLS} calls at concurrency ${CONCURRENCY} after ${WARMUP} warm-up calls, ` +
      `each mode in its own process (the least of ${REPS} runs), ${ROUNDS} rounds (order alternating)`
  )
  const receiver = await startReceiver("accept")
  const tracesUrl = `${receiver.baseUrl}/v1/traces`
  try {
    const results = new Map<Mode, Array<number>>(modes.map((m) => [m, []]))
    const allocs = new Map<Mode, Array<number>>(modes.map((m) => [m, []]))
    for (let r = 0; r < ROUNDS; r++) {
      for (const mode of r % 2 === 0 ? modes : [...modes].reverse()) {
        const result = await runChild(mode, tracesUrl)
        results.get(mode)!.push(result.cpuMicrosPerCall)
        if (result.allocKiBPerCall !== undefined) allocs.get(mode)!.push(result.allocKiBPerCall)
      }
      console.log(`  round ${r + 1}: ${modes.map((m) => `${m} ${results.get(m)![r]!.toFixed(1)}`).join(", ")}`)
    }
    const per = (mode: Mode, base: Mode): Array<number> | undefined => {
      const xs = results.get(mode)
      const bs = results.get(base)
      return xs === undefined || bs === undefined ? undefined : xs.map((x, i) => x - bs[i]!)
    }
    const ratio = (ours: Array<number> | undefined, floor: Array<number> | undefined) =>
      ours === undefined || floor === undefined ? undefined : ours.map((x, i) => x / floor[i]!)
    // Each mode's baseline: the same loop without what is measured (none for the baselines).
    const baseOf = (mode: Mode): Mode | undefined =>
      mode === "off" || mode.endsWith("-base")
        ? undefined
        : mode.startsWith("sdk")
        ? "sdk-base"
        : mode.startsWith("bridge-cot") || mode.startsWith("otlp-tracer-cot")
        ? "bridge-cot-base"
        : mode.startsWith("bridge") || mode.startsWith("otlp-tracer")
        ? "bridge-base"
        : "off"
    const cost = (mode: Mode) => {
      const base = baseOf(mode)
      return base === undefined ? undefined : per(mode, base)
    }
    const content = (mode: Mode) => !mode.endsWith("no-content")
    const sdkFloor = (mode: Mode) => cost(content(mode) ? "sdk" : "sdk-no-content")
    const bridgeFloor = (mode: Mode) => cost(content(mode) ? "bridge" : "bridge-no-content")
    const hostedFloor = (mode: Mode) => cost(content(mode) ? "bridge-cot" : "bridge-cot-no-content")
    const fmt = (xs: Array<number> | undefined, digits: number, unit = "") =>
      xs === undefined ? "" : `${median(xs).toFixed(digits)}${unit} (${range(xs, digits)})`
    console.log(
      `\n${"mode".padEnd(22)}${"CPU µs/call (median, range)".padEnd(30)}${"tracing µs/call".padEnd(24)}${"vs SDK".padEnd(22)}` +
        `${"vs bridge".padEnd(22)}vs bridge in CoT`
    )
    const rows: Array<Record<string, unknown>> = []
    for (const mode of modes) {
      const xs = results.get(mode)!
      const tracing = cost(mode)
      const ours = tracing !== undefined && mode !== "untraced" && !mode.startsWith("sdk") && !mode.startsWith("bridge") &&
        !mode.startsWith("otlp-tracer")
      const vsSdk = tracing !== undefined && mode !== "untraced" && !mode.startsWith("sdk") ? ratio(tracing, sdkFloor(mode)) : undefined
      const vsBridge = ours ? ratio(tracing, bridgeFloor(mode)) : undefined
      const vsHosted = ours ? ratio(tracing, hostedFloor(mode)) : undefined
      rows.push({ mode, cpuMicrosPerCall: xs, tracingMicrosPerCall: tracing, vsSdk, vsBridge, vsBridgeInCot: vsHosted })
      console.log(
        `${mode.padEnd(22)}${fmt(xs, 1).padEnd(30)}${fmt(tracing, 1).padEnd(24)}${fmt(vsSdk, 2, "x").padEnd(22)}` +
          `${fmt(vsBridge, 2, "x").padEnd(22)}${fmt(vsHosted, 2, "x")}`
      )
    }
    console.log(
      "(tracing: the mode minus its baseline of the same round: `off` for ours, `sdk-base`, `bridge-base` and `bridge-cot-base` for the floors; " +
        "`untraced` is negative: what Effect's own spans cost)"
    )
    // The verdict: tracing's cost per call from the SDK's floor through Effect's bridge (around
    // the bare wait, then inside the same ChainOfThought program) to ours.
    const verdict = (label: string, ours: Mode, sdk: Mode, bridge: Mode, hosted: Mode, otlp: Mode, otlpHosted: Mode) => {
      const o = cost(ours)
      const s = cost(sdk)
      if (o === undefined || s === undefined) return
      const parts = [`SDK floor ${median(s).toFixed(1)} µs`]
      const floors = [
        ["@effect/opentelemetry bridge", cost(bridge)],
        ["the bridge in ChainOfThought", cost(hosted)],
        ["@effect/opentelemetry OtlpTracer", cost(otlp)],
        ["the OtlpTracer in ChainOfThought", cost(otlpHosted)]
      ] as const
      for (const [name, floor] of floors) {
        if (floor !== undefined) parts.push(`${name} ${median(floor).toFixed(1)} µs (${median(ratio(floor, s)!).toFixed(2)}x the SDK)`)
      }
      const last = cost(hosted) ?? cost(bridge)
      parts.push(
        `ours ${median(o).toFixed(1)} µs (${median(ratio(o, s)!).toFixed(2)}x the SDK` +
          (last === undefined ? ")" : `, ${median(ratio(o, last)!).toFixed(2)}x the last bridge figure)`)
      )
      console.log(`  ${label}\n    ${parts.join("\n    -> ")}`)
    }
    console.log(`\ntracing CPU per call, medians of the rounds:`)
    verdict("with content:", "export", "sdk", "bridge", "bridge-cot", "otlp-tracer", "otlp-tracer-cot")
    verdict("without content:", "no-content", "sdk-no-content", "bridge-no-content", "bridge-cot-no-content", "otlp-tracer-no-content", "otlp-tracer-cot-no-content")
    const exportRatio = ratio(cost("export"), cost("sdk"))
    if (exportRatio !== undefined) {
      const m = median(exportRatio)
      console.log(
        `target: tracing CPU per call (export, content captured) at most 1.5x the SDK's own for the same spans: ${m.toFixed(2)}x ` +
          `(rounds ${exportRatio.map((x) => x.toFixed(2)).join(" ")}) -> ${m <= 1.5 ? "PASS" : "FAIL"}`
      )
    }
    const noContentRatio = ratio(cost("no-content"), cost("sdk-no-content"))
    if (noContentRatio !== undefined) {
      console.log(`without content capture, against the SDK's spans without content: ${median(noContentRatio).toFixed(2)}x (rounds ${noContentRatio.map((x) => x.toFixed(2)).join(" ")})`)
    }
    if (ALLOC) {
      // Medians per mode; tracing's bytes as the CPU figures' (the mode minus its baseline).
      const alloc = (mode: Mode) => (allocs.get(mode)?.length ?? 0) > 0 ? median(allocs.get(mode)!) : undefined
      console.log(`\nallocated KiB/call (median of rounds; tracing's: minus the mode's baseline)`)
      for (const mode of modes) {
        const own = alloc(mode)
        const baseMode = baseOf(mode)
        const base = baseMode === undefined ? undefined : alloc(baseMode)
        const extra = own === undefined || base === undefined ? "" : `  tracing ${(own - base).toFixed(1)}`
        console.log(`${mode.padEnd(22)}${own === undefined ? "" : own.toFixed(1).padStart(8)}${extra}`)
      }
      for (const row of rows) row["allocKiBPerCall"] = allocs.get(row["mode"] as Mode)
    }
    if (JSON_FILE !== undefined) writeFileSync(JSON_FILE, JSON.stringify({ calls: CALLS, rounds: ROUNDS, concurrency: CONCURRENCY, warmup: WARMUP, rows }, null, 2))
  } finally {
    receiver.stop()
  }
}

const childMode = args.get("child")
const main = childMode === undefined
  ? parent()
  : isMode(childMode)
  ? child(childMode, args.get("traces-url") ?? "")
  : Promise.reject(new Error(`--child ${childMode}: not a mode`))

main.then(() => process.exit(0), (error) => {
  console.error(error)
  process.exit(1)
})
