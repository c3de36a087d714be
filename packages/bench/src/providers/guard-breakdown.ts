/**
 * Where the providers' CPU guard (client CPU per prediction at or below the openai SDK's) goes,
 * part by part, in one process against the same simulator:
 *
 * - `openai SDK`: `chat.completions.parse` with its shipped retry policy and per-request timeout
 *   (the peer benchmark's client);
 * - `Predict`: `Predict` over `Lm.layer` with the default policy (a per-attempt
 *   `Effect.timeoutFail`, as the providers issue asks);
 * - `Predict, no timeout`: the same with `retry: { timeout: undefined }`. No private timeout can
 *   save more than the difference between these two, so it bounds what one could buy;
 * - `@effect/ai response decode`, in process: `LanguageModel.generateText` of @effect/ai 0.37.0
 *   builds its response schema (`Schema.Array(Response.Part(Toolkit.empty))`) anew on every call,
 *   so Schema's parser cache, keyed by the schema's AST, never hits. The variant decodes a
 *   typical reply's parts with a schema built per call and with one built once.
 *
 * Rounds interleave the variants; each round prints its figures and the ratios to the SDK.
 *
 *   pnpm exec tsx packages/bench/src/providers/guard-breakdown.ts [--calls 3000] [--rounds 5] [--concurrency 64]
 *
 * Prints figures; asserts nothing.
 */
import * as Response from "@effect/ai/Response"
import * as Toolkit from "@effect/ai/Toolkit"
import { Predict, Signature } from "@effect-dspy/core"
import { Lm } from "@effect-dspy/providers"
import { Effect, ManagedRuntime, Schema } from "effect"
import { parseArgs } from "node:util"
import { measure, median, runHeader, startSimulator } from "../harness/measure.js"
import * as OpenAiPeer from "../peers/openai.js"
import { instructions } from "../peers/Peer.js"

const { values } = parseArgs({
  options: {
    calls: { type: "string", default: "3000" },
    concurrency: { type: "string", default: "64" },
    rounds: { type: "string", default: "5" }
  }
})
const CALLS = Number(values.calls)
const CONCURRENCY = Number(values.concurrency)
const ROUNDS = Number(values.rounds)
const DECODES = 20_000

const qa = Predict.make(Signature.fromString("question -> answer", { name: "QA", instructions }))
const questions = (n: number) => Array.from({ length: n }, (_, i) => `What is ${i} plus one?`)

// The parts a chat-completions provider hands @effect/ai for a short answer (encoded form).
const replyParts = [
  { type: "response-metadata", id: "chatcmpl-1", modelId: "sim-1", timestamp: new Date(0).toISOString() },
  { type: "text", text: "[[ ## answer ## ]]\nParis\n\n[[ ## completed ## ]]" },
  { type: "finish", reason: "stop", usage: { inputTokens: 52, outputTokens: 9, totalTokens: 61 } }
]
const responseSchema = () => Schema.mutable(Schema.Array(Response.Part(Toolkit.empty)))
const decodeOnce = Schema.decodeUnknown(responseSchema())
const decodeLoop = (decode: () => Effect.Effect<unknown, unknown>) => (n: number) =>
  Promise.resolve().then(() => {
    for (let i = 0; i < n; i++) Effect.runSync(decode())
  })

const main = async () => {
  console.log(runHeader())
  const sim = await startSimulator()
  const baseUrl = `${sim.url}/v1`
  const predictWith = (options: Lm.Options) => {
    const runtime = ManagedRuntime.make(Lm.layer("openai-compatible/sim-1", { baseUrl, ...options }))
    const run = (n: number) =>
      runtime.runPromise(Effect.forEach(questions(n), (question) => qa({ question }), { concurrency: CONCURRENCY, discard: true }))
    return { run, dispose: () => runtime.dispose() }
  }
  const sdk = OpenAiPeer.make(baseUrl)
  const predict = predictWith({})
  const predictNoTimeout = predictWith({ retry: { timeout: undefined } })
  const variants: ReadonlyArray<readonly [string, number, (n: number) => Promise<unknown>]> = [
    ["openai SDK", CALLS, (n) => sdk.runAll(questions(n), CONCURRENCY)],
    ["Predict", CALLS, predict.run],
    ["Predict, no timeout", CALLS, predictNoTimeout.run],
    ["@effect/ai decode, schema per call", DECODES, decodeLoop(() => Schema.decodeUnknown(responseSchema())(replyParts))],
    ["@effect/ai decode, schema once", DECODES, decodeLoop(() => decodeOnce(replyParts))]
  ]
  try {
    for (const [, calls, run] of variants) await run(Math.min(2000, calls))
    const results = new Map<string, Array<number>>()
    for (let round = 0; round < ROUNDS; round++) {
      // alternate the order so that neither side always runs right after the other
      const order = round % 2 === 0 ? variants : [...variants].reverse()
      for (const [name, calls, run] of order) {
        const { cpuMicrosPerCall } = await measure(calls, async (n) => {
          await run(n)
        })
        results.set(name, [...(results.get(name) ?? []), cpuMicrosPerCall])
      }
      const at = (name: string) => results.get(name)![round]!
      console.log(
        `round ${round + 1}: SDK ${at("openai SDK").toFixed(0)}, Predict ${at("Predict").toFixed(0)} (${
          (at("Predict") / at("openai SDK")).toFixed(2)
        }x), no timeout ${at("Predict, no timeout").toFixed(0)} (${(at("Predict, no timeout") / at("openai SDK")).toFixed(2)}x), µs/call`
      )
    }
    console.log(`concurrency ${CONCURRENCY}, ${CALLS} predictions per round, median of ${ROUNDS} rounds`)
    console.log("variant                                 cpu µs/call")
    for (const [name, cpus] of results) console.log(`${name.padEnd(40)} ${median(cpus).toFixed(1).padStart(10)}`)
    const m = (name: string) => median(results.get(name)!)
    console.log(`Predict / SDK ${(m("Predict") / m("openai SDK")).toFixed(2)}x; without its timeout ${(m("Predict, no timeout") / m("openai SDK")).toFixed(2)}x`)
    console.log(`the timeout's share of Predict: ${(100 * (1 - m("Predict, no timeout") / m("Predict"))).toFixed(1)}% (the most any private timeout could save)`)
    console.log(
      `@effect/ai's per-call response schema: ${(m("@effect/ai decode, schema per call") - m("@effect/ai decode, schema once")).toFixed(1)} µs per call (${
        (100 * (m("@effect/ai decode, schema per call") - m("@effect/ai decode, schema once")) / m("Predict")).toFixed(1)
      }% of Predict)`
    )
  } finally {
    await predict.dispose()
    await predictNoTimeout.dispose()
    sim.stop()
  }
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
