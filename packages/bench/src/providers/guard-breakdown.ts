/**
 * Where the providers' CPU guard (client CPU per prediction at or below the openai SDK's) goes,
 * part by part, in one process against the same simulator, from the floor up:
 *
 * - `fetch (floor)`: the peer benchmark's bare floor (`fetch`, `JSON.parse`, a worker pool);
 * - `Effect floor (platform + Schema)`: the same work from Effect's building blocks only, no
 *   effect-dspy code (`peers/effect-platform.ts`: `HttpClient` on undici, cached Schema
 *   decoders, `Effect.timeoutFail` per attempt and `Effect.retry`, `Effect.forEach`); and
 *   `..., no timeout`: without the `Effect.timeoutFail` (what the mandated timeout costs there);
 * - `Effect floor (@effect/ai)`: the same client behind a minimal `LanguageModel.make`, asked
 *   with `LanguageModel.generateObject` (`peers/effect-ai.ts`);
 * - `openai SDK`: `chat.completions.parse` with its shipped retry policy and per-request timeout
 *   (the peer benchmark's client);
 * - `Predict`: `Predict` over `Lm.layer` with the default policy (a per-attempt
 *   `Effect.timeoutFail`, as the providers issue asks);
 * - `Predict, no timeout`: the same with `retry: { timeout: undefined }`. No private timeout can
 *   save more than the difference between these two, so it bounds what one could buy;
 * - `Predict, tracer off`: `Predict` with Effect's tracer turned off (`Layer.setTracerEnabled(false)`,
 *   every span a no-op): what its three spans (module, LM call, `@effect/ai`'s
 *   `LanguageModel.generateText`) cost, which the floors and the SDK do not make;
 * - `Predict (JsonAdapter)`: `Predict` asking for `json_schema` structured output, the same
 *   request kind as the floors and the SDK (`Predict` above uses the default ChatAdapter's
 *   field markers, a longer prompt).
 *
 * So the figures decompose: bare floor -> Effect floor -> ours. The ratios are to the SDK and to
 * the platform floor: the `@effect/ai` floor pays for `LanguageModel.make` building its part and
 * object Schemas anew on every call, which our provider does not (its
 * `internal/cachedDecoding.ts`), so `Predict` minus the platform floor is effect-dspy's own share
 * (with the three spans the floors do not make). Rounds interleave the variants (the order
 * alternates); each round prints its figures, then the medians.
 *
 *   pnpm exec tsx packages/bench/src/providers/guard-breakdown.ts [--calls 3000] [--rounds 5] [--concurrency 64]
 *     [--only fetch,platform,platform-no-timeout,ai,sdk,predict,predict-no-timeout,predict-no-tracer,predict-json]
 *
 * Prints figures; asserts nothing.
 */
import { Adapter, JsonAdapter, Predict, Signature } from "@effect-dspy/core"
import { Lm } from "@effect-dspy/providers"
import { Effect, Layer, ManagedRuntime } from "effect"
import * as os from "node:os"
import { parseArgs } from "node:util"
import { measure, median, runHeader, startSimulator } from "../harness/measure.js"
import * as EffectAiPeer from "../peers/effect-ai.js"
import * as EffectPlatformPeer from "../peers/effect-platform.js"
import * as FetchPeer from "../peers/fetch.js"
import * as OpenAiPeer from "../peers/openai.js"
import { instructions } from "../peers/Peer.js"

const { values } = parseArgs({
  options: {
    calls: { type: "string", default: "3000" },
    concurrency: { type: "string", default: "64" },
    rounds: { type: "string", default: "5" },
    only: { type: "string" }
  }
})
const CALLS = Number(values.calls)
const CONCURRENCY = Number(values.concurrency)
const ROUNDS = Number(values.rounds)

// Each variant's name in the figures, by its id (what `--only` takes).
const FETCH = "fetch (floor)"
const PLATFORM = "Effect floor (platform + Schema)"
const PLATFORM_NO_TIMEOUT = "Effect floor (platform), no timeout"
const AI = "Effect floor (@effect/ai)"
const SDK = "openai SDK"
const PREDICT = "Predict"
const PREDICT_NO_TIMEOUT = "Predict, no timeout"
const PREDICT_NO_TRACER = "Predict, tracer off"
const PREDICT_JSON = "Predict (JsonAdapter)"
const ids: Readonly<Record<string, string>> = {
  fetch: FETCH,
  platform: PLATFORM,
  "platform-no-timeout": PLATFORM_NO_TIMEOUT,
  ai: AI,
  sdk: SDK,
  predict: PREDICT,
  "predict-no-timeout": PREDICT_NO_TIMEOUT,
  "predict-no-tracer": PREDICT_NO_TRACER,
  "predict-json": PREDICT_JSON
}
const ONLY = values.only?.split(",").map((id) => {
  const name = ids[id.trim()]
  if (name === undefined) throw new Error(`unknown variant ${id}; known: ${Object.keys(ids).join(", ")}`)
  return name
})
const load = () => `load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`

const qa = Predict.make(Signature.fromString("question -> answer", { name: "QA", instructions }))
const questions = (n: number) => Array.from({ length: n }, (_, i) => `What is ${i} plus one?`)

const main = async () => {
  console.log(runHeader())
  const sim = await startSimulator()
  const baseUrl = `${sim.url}/v1`
  const predictWith = (options: Lm.Options, settings: { readonly tracer?: boolean; readonly json?: boolean } = {}) => {
    const model = Lm.layer("openai-compatible/sim-1", { baseUrl, ...options })
    const runtime = ManagedRuntime.make(settings.tracer === false ? Layer.merge(model, Layer.setTracerEnabled(false)) : model)
    const all = (n: number) => Effect.forEach(questions(n), (question) => qa({ question }), { concurrency: CONCURRENCY, discard: true })
    const run = (n: number) => runtime.runPromise(settings.json === true ? all(n).pipe(Adapter.withAdapter(JsonAdapter.adapter)) : all(n))
    return { run, close: () => runtime.dispose() }
  }
  const peerRun = (peer: { readonly runAll: (q: ReadonlyArray<string>, c: number) => Promise<unknown>; readonly close: () => Promise<void> }) => ({
    run: (n: number) => peer.runAll(questions(n), CONCURRENCY),
    close: peer.close
  })
  const all: ReadonlyArray<readonly [string, { readonly run: (n: number) => Promise<unknown>; readonly close: () => Promise<void> }]> = [
    [FETCH, peerRun(FetchPeer.make(baseUrl))],
    [PLATFORM, peerRun(EffectPlatformPeer.make(baseUrl))],
    [PLATFORM_NO_TIMEOUT, peerRun(EffectPlatformPeer.make(baseUrl, { timeout: false }))],
    [AI, peerRun(EffectAiPeer.make(baseUrl))],
    [SDK, peerRun(OpenAiPeer.make(baseUrl))],
    [PREDICT, predictWith({})],
    [PREDICT_NO_TIMEOUT, predictWith({ retry: { timeout: undefined } })],
    [PREDICT_NO_TRACER, predictWith({}, { tracer: false })],
    [PREDICT_JSON, predictWith({}, { json: true })]
  ]
  const variants = ONLY === undefined ? all : all.filter(([name]) => ONLY.includes(name))
  try {
    for (const [, v] of variants) await v.run(Math.min(2000, CALLS))
    const results = new Map<string, Array<number>>()
    for (let round = 0; round < ROUNDS; round++) {
      // alternate the order so that no variant always runs right after the same other one
      const order = round % 2 === 0 ? variants : [...variants].reverse()
      for (const [name, v] of order) {
        const { cpuMicrosPerCall } = await measure(CALLS, async (n) => {
          await v.run(n)
        })
        results.set(name, [...(results.get(name) ?? []), cpuMicrosPerCall])
      }
      console.log(`round ${round + 1}: ${variants.map(([name]) => `${name} ${results.get(name)![round]!.toFixed(0)}`).join(", ")} (µs/call; ${load()})`)
    }
    const m = (name: string) => (results.has(name) ? median(results.get(name)!) : undefined)
    const sdk = m(SDK)
    const floor = m(PLATFORM)
    console.log(`concurrency ${CONCURRENCY}, ${CALLS} predictions per round, median of ${ROUNDS} rounds; ${load()}`)
    console.log(`${"variant".padEnd(40)} ${"cpu µs/call".padStart(11)} ${"/ SDK".padStart(7)} ${"/ platform floor".padStart(17)}`)
    for (const [name] of variants) {
      const cpu = m(name)!
      console.log(
        `${name.padEnd(40)} ${cpu.toFixed(1).padStart(11)} ${sdk === undefined ? "" : `${(cpu / sdk).toFixed(2)}x`.padStart(7)} ${
          floor === undefined ? "" : `${(cpu / floor).toFixed(2)}x`.padStart(17)
        }`
      )
    }
    const predict = m(PREDICT)
    const noTimeout = m(PREDICT_NO_TIMEOUT)
    if (predict !== undefined && noTimeout !== undefined) {
      console.log(`the timeout's share of Predict: ${(100 * (1 - noTimeout / predict)).toFixed(1)}% (the most any private timeout could save)`)
    }
    const noTracer = m(PREDICT_NO_TRACER)
    if (predict !== undefined && noTracer !== undefined) {
      console.log(`the spans' share of Predict: ${(100 * (1 - noTracer / predict)).toFixed(1)}% (${(predict - noTracer).toFixed(0)} µs/call)`)
    }
    const platform = m(PLATFORM)
    const platformNoTimeout = m(PLATFORM_NO_TIMEOUT)
    if (platform !== undefined && platformNoTimeout !== undefined) {
      console.log(`the timeout's cost in the Effect floor: ${(platform - platformNoTimeout).toFixed(0)} µs/call (${(100 * (1 - platformNoTimeout / platform)).toFixed(1)}%)`)
    }
    const ai = m(AI)
    const fetch = m(FETCH)
    if (predict !== undefined && platform !== undefined) {
      console.log(
        `Predict over the Effect floor: ${(predict - platform).toFixed(0)} µs/call over platform + Schema${
          ai === undefined ? "" : `, ${(predict - ai).toFixed(0)} over @effect/ai`
        }; the platform floor over bare fetch: ${fetch === undefined ? "?" : (platform - fetch).toFixed(0)} µs/call`
      )
    }
  } finally {
    for (const [, v] of all) await v.close()
    sim.stop()
  }
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
