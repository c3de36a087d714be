/**
 * Tracing's CPU per call without the network's noise: ChainOfThought over an in-process model
 * that answers at once (the reply a simulator would write), so that every microsecond measured
 * is the program's. Modes, interleaved per round (every other round in reverse order):
 *
 * - `untraced`: Effect's tracing turned off (`Effect.withTracerEnabled(false)`): no span is made;
 * - `off`: no destination (`Telemetry.layer` with none): Effect's spans are made, nothing is
 *   recorded or exported (`off - untraced` is what Effect's span machinery costs);
 * - `spans`: Effect's spans alone (a tracer forwarding to Effect's built-in one, nothing exported);
 * - `export`: `Telemetry.layerOtlp` with content capture to a loopback receiver in a child process;
 * - `no-redaction`: content captured without core's redaction patterns (what redaction costs);
 * - `no-content`: the same without content capture;
 * - `sdk`: the floor: the OpenTelemetry SDK's two spans with the same attributes and content,
 *   exported the same way (`floor.ts`'s `sdkSpans`), with no Effect and no model call.
 *
 * Figures: CPU µs per call of each mode, tracing's cost (`mode - off`, paired per round) and its
 * ratio to the SDK's (`sdk`) (target of issue 22: at most 1.5x).
 *
 *   node --expose-gc --import tsx packages/bench/src/telemetry/cpu.ts [--calls 5000] [--rounds 3] [--concurrency 64]
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Response from "@effect/ai/Response"
import { ChainOfThought, LmConfig } from "@effect-dspy/core"
import { Telemetry, TelemetryConfig } from "@effect-dspy/telemetry"
import { Context, DefaultServices, Effect, Layer, ManagedRuntime, Stream, Tracer } from "effect"
import { median, pool, runHeader } from "../harness/measure.js"
import * as Floor from "./floor.js"
import { startReceiver } from "./receiver.js"

const args = new Map<string, string>()
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ""), process.argv[i + 1] ?? "")
const CALLS = Number(args.get("calls") ?? 5000)
const ROUNDS = Number(args.get("rounds") ?? 3)
const CONCURRENCY = Number(args.get("concurrency") ?? 64)
const MODES = ["untraced", "off", "spans", "export", "no-redaction", "no-content", "sdk"] as const
type Mode = (typeof MODES)[number]

const server = { address: "127.0.0.1", port: 8787 }
const answer = (i: number) => `${i + i}.`
const replyText = (i: number) =>
  `[[ ## reasoning ## ]]\nAdding ${i} to itself gives ${i + i}.\n\n[[ ## answer ## ]]\n${answer(i)}\n\n[[ ## completed ## ]]`

// The model answers at once with what the simulator would write; the question's number is read
// back from the prompt so that each call's reply differs as a real one would.
const instant = Layer.effect(
  LanguageModel.LanguageModel,
  LanguageModel.make({
    generateText: (options) =>
      Effect.sync((): Array<Response.PartEncoded> => {
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

const cot = ChainOfThought.make(Floor.QA)
const workload = (n: number) =>
  Effect.forEach(Array.from({ length: n }, (_, i) => i), (i) => cot({ question: Floor.question(i) }), { concurrency: CONCURRENCY, discard: true }).pipe(
    LmConfig.withSettings({ provider: "openai-compatible", model: "sim-1", server })
  )

const native = Context.get(DefaultServices.liveServices, Tracer.Tracer)
const forwarding = Tracer.make({ span: (...spanArgs) => native.span(...spanArgs), context: native.context })

const gc = (globalThis as { gc?: () => void }).gc

const cpuOf = async (n: number, body: () => Promise<void>): Promise<number> => {
  gc?.()
  const cpu = process.cpuUsage()
  await body()
  const used = process.cpuUsage(cpu)
  return (used.user + used.system) / n
}

const main = async () => {
  console.log(runHeader())
  console.log(`ChainOfThought over an in-process model: ${CALLS} calls at concurrency ${CONCURRENCY}, ${ROUNDS} interleaved rounds`)
  const receiver = await startReceiver("accept")
  const tracesUrl = `${receiver.baseUrl}/v1/traces`
  const queue = { maxQueueSize: Math.max(2048, CALLS * 2) }
  const runtime = ManagedRuntime.make(instant)
  const layerOf = (mode: Mode): Layer.Layer<Telemetry.Telemetry> | undefined => {
    switch (mode) {
      case "off":
        return Telemetry.layer(TelemetryConfig.make({ destinations: [] }))
      case "export":
        return Telemetry.layerOtlp({ url: tracesUrl, batch: queue, content: { capture: true } })
      case "no-redaction":
        return Telemetry.layerOtlp({ url: tracesUrl, batch: queue, content: { capture: true, redactKnownPatterns: false } })
      case "no-content":
        return Telemetry.layerOtlp({ url: tracesUrl, batch: queue })
      default:
        return undefined
    }
  }
  const round = (mode: Mode, n: number): Promise<number> =>
    cpuOf(n, async () => {
      if (mode === "sdk") {
        const spans = Floor.sdkSpans(tracesUrl, queue.maxQueueSize, server)
        let i = 0
        await pool(n, CONCURRENCY, async () => {
          const call = i++
          const { end } = spans.start(call)
          const reply = replyText(call)
          // The model's answer arrives on a later turn of the event loop, as a response would.
          await Promise.resolve()
          end({ id: `chatcmpl-${call}`, model: "sim-1", content: reply, finishReason: "stop", inputTokens: 180, outputTokens: Math.ceil(reply.length / 4) })
        })
        await spans.shutdown()
        return
      }
      const layer = layerOf(mode)
      const program = mode === "untraced"
        ? Effect.withTracerEnabled(workload(n), false)
        : mode === "spans"
        ? Effect.withTracer(workload(n), forwarding)
        : Effect.provide(workload(n), layer!)
      await runtime.runPromise(program)
    })
  try {
    // Warm-up: every mode once, not measured.
    for (const mode of MODES) await round(mode, Math.min(CALLS, 1000))
    const results = new Map<Mode, Array<number>>(MODES.map((m) => [m, []]))
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 === 0 ? MODES : [...MODES].reverse()
      for (const mode of order) results.get(mode)!.push(await round(mode, CALLS))
    }
    const off = results.get("off")!
    const sdk = median(results.get("sdk")!)
    console.log(`\nmode          CPU µs/call  tracing µs/call  vs SDK   (medians; rounds: ${ROUNDS})`)
    for (const mode of MODES) {
      const xs = results.get(mode)!
      const tracing = mode === "off" || mode === "sdk" ? undefined : median(xs.map((x, i) => x - off[i]!))
      // (`untraced` shows a negative figure: what Effect's spans cost, below `off`)
      const shown = mode === "sdk" ? sdk : tracing
      console.log(
        `${mode.padEnd(12)} ${median(xs).toFixed(1).padStart(12)} ${(shown === undefined ? "" : shown.toFixed(1)).padStart(16)} ${
          shown === undefined ? "" : `${(shown / sdk).toFixed(2)}x`.padStart(7)
        }   ${xs.map((x) => x.toFixed(0)).join(" ")}`
      )
    }
    const exportCost = median(results.get("export")!.map((x, i) => x - off[i]!))
    const ratio = exportCost / sdk
    console.log(`target: tracing CPU per call at most 1.5x the SDK's own: ${ratio.toFixed(2)}x -> ${ratio <= 1.5 ? "PASS" : "FAIL"}`)
  } finally {
    await runtime.dispose()
    receiver.stop()
  }
}

main().then(() => process.exit(0), (error) => {
  console.error(error)
  process.exit(1)
})
