/**
 * Core's own CPU per prediction, without HTTP: Predict over a model that answers at once,
 * next to calling that model's `generateText` directly.
 *
 *   pnpm exec tsx packages/bench/src/core-overhead.ts [--calls 20000]
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Response from "@effect/ai/Response"
import { GenAiSpan, Predict, Signature } from "@effect-dspy/core"
import { Context, DefaultServices, Effect, Layer, ManagedRuntime, Stream, Tracer } from "effect"
import { runHeader } from "../harness/measure.js"

const callsIndex = process.argv.indexOf("--calls")
const calls = callsIndex === -1 ? 20000 : Number(process.argv[callsIndex + 1])

// A model with no per-call work of its own, so that the figures are core's.
const content = [
  Response.makePart("text", { text: "[[ ## answer ## ]]\nPour-over, with freshly ground beans.\n\n[[ ## completed ## ]]" }),
  Response.makePart("finish", {
    reason: "stop",
    usage: new Response.Usage({ inputTokens: 120, outputTokens: 20, totalTokens: 140 })
  })
]
const instant: LanguageModel.Service = {
  generateText: () => Effect.succeed(new LanguageModel.GenerateTextResponse(content)),
  generateObject: () => Effect.die("not used"),
  streamText: () => Stream.die("not used")
} as unknown as LanguageModel.Service
const lm = Layer.succeed(LanguageModel.LanguageModel, instant)

const qa = Predict.make(Signature.fromString("question -> answer", { name: "QA" }))
const input = { question: "What is the best way to brew coffee?" }

const runtime = ManagedRuntime.make(lm)
const time = async (name: string, f: () => Effect.Effect<unknown, unknown, LanguageModel.LanguageModel>) => {
  const go = (n: number) => runtime.runPromise(Effect.forEach(Array.from({ length: n }), f, { concurrency: 64, discard: true }))
  await go(2000)
  const cpu0 = process.cpuUsage()
  await go(calls)
  const cpu = process.cpuUsage(cpu0)
  console.log(`${name.padEnd(28)} ${((cpu.user + cpu.system) / calls).toFixed(1).padStart(8)} µs/call`)
}
console.log(runHeader())
await time("model alone", () => LanguageModel.generateText({ prompt: "hi" }))
await time("Predict", () => qa(input))
// With a tracer installed modules make their spans; this one forwards to Effect's built-in tracer.
const native = Context.get(DefaultServices.liveServices, Tracer.Tracer)
const forwarding = Tracer.make({ span: (...args) => native.span(...args), context: native.context })
await time("Predict, spans recorded", () => Effect.withTracer(qa(input), forwarding))
// With telemetry on, a content sink also receives module and LM inputs and outputs; this one
// keeps the last value, as a real sink keeps references to render later.
let kept: unknown
const sink: GenAiSpan.ContentSink = (_span, value) => {
  kept = value
}
await time("Predict, spans + content", () =>
  Effect.withTracer(qa(input), forwarding).pipe(Effect.provideService(GenAiSpan.CurrentContentSink, sink)))
void kept
await runtime.dispose()
