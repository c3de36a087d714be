/**
 * Where the providers' CPU guard (client CPU per prediction at or below the openai SDK's) goes,
 * part by part, in one process against the same simulator:
 *
 * - `openai SDK`: `chat.completions.parse` with its shipped retry policy and per-request timeout
 *   (the peer benchmark's client);
 * - `Predict`: `Predict` over `Lm.layer` with the default policy (a per-attempt
 *   `Effect.timeoutFail`, as the providers issue asks);
 * - `Predict, no timeout`: the same with `retry: { timeout: undefined }`. No private timeout can
 *   save more than the difference between these two, so it bounds what one could buy.
 *
 * Rounds interleave the variants; each round prints its figures and the ratios to the SDK.
 *
 *   pnpm exec tsx packages/bench/src/providers/guard-breakdown.ts [--calls 3000] [--rounds 5] [--concurrency 64]
 *
 * Prints figures; asserts nothing.
 */
import { Predict, Signature } from "@effect-dspy/core"
import { Lm } from "@effect-dspy/providers"
import { Effect, ManagedRuntime } from "effect"
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

const qa = Predict.make(Signature.fromString("question -> answer", { name: "QA", instructions }))
const questions = (n: number) => Array.from({ length: n }, (_, i) => `What is ${i} plus one?`)

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
  const variants: ReadonlyArray<readonly [string, (n: number) => Promise<unknown>]> = [
    ["openai SDK", (n) => sdk.runAll(questions(n), CONCURRENCY)],
    ["Predict", predict.run],
    ["Predict, no timeout", predictNoTimeout.run]
  ]
  try {
    for (const [, run] of variants) await run(Math.min(2000, CALLS))
    const results = new Map<string, Array<number>>()
    for (let round = 0; round < ROUNDS; round++) {
      // alternate the order so that neither side always runs right after the other
      const order = round % 2 === 0 ? variants : [...variants].reverse()
      for (const [name, run] of order) {
        const { cpuMicrosPerCall } = await measure(CALLS, async (n) => {
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
