/**
 * Client CPU per call of the openai-compatible provider (`Lm.layer`, the path users take, with
 * its retry policy) next to a bare `fetch` of the same request (the floor), against the
 * simulator in a child process with zero latency, so that `process.cpuUsage()` measures the
 * client alone. Each variant sends the same request (POST /v1/chat/completions, a short text
 * answer) and reads the whole reply. Two more variants price what every call pays for: without
 * the per-attempt timeout (`Effect.timeoutFail`: two fibers), and the same model built by hand
 * (`Resilience.layer` over `ChatCompletions.layer`) over the platform's client with its own span
 * per request, as `Lm.layer` did before it turned that span off. And core's `Predict` (ChatAdapter,
 * "question -> answer") over `Lm.layer`, for what a prediction adds to the call it makes (its
 * prompt and reply are longer). Prints figures; asserts nothing.
 *
 *   pnpm exec tsx packages/bench/src/providers/provider-overhead.ts [--calls 3000] [--concurrency 64] [--rounds 3]
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import { Adapter, ChatAdapter, Predict, Signature } from "@effect-dspy/core"
import { ChatCompletions, Lm, Resilience } from "@effect-dspy/providers"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Effect, Layer, ManagedRuntime } from "effect"
import { parseArgs } from "node:util"
import { measure, type Measure, median, pool, runHeader, startSimulator } from "../harness/measure.js"

const { values } = parseArgs({
  options: {
    calls: { type: "string", default: "3000" },
    concurrency: { type: "string", default: "64" },
    rounds: { type: "string", default: "3" }
  }
})
const CALLS = Number(values.calls)
const CONCURRENCY = Number(values.concurrency)
const ROUNDS = Number(values.rounds)
const WARMUP = Math.min(600, CALLS)

const prompt = "Say something short about coffee."
const qa = Predict.make(Signature.fromString("question -> answer", { instructions: "Answer the question in one sentence." }))

// The floor: the same request with fetch, the reply parsed, nothing else.
const bareFetch = (url: string) => async (): Promise<void> => {
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify({ model: "sim-1", messages: [{ role: "user", content: prompt }] })
  })
  const json = (await response.json()) as { choices: Array<{ message: { content: string } }> }
  if (typeof json.choices[0]?.message.content !== "string") throw new Error("bad reply")
}

const main = async () => {
  console.log(runHeader())
  const sim = await startSimulator()
  const baseUrl = `${sim.url}/v1`
  const runtimes = {
    lm: ManagedRuntime.make(Lm.layer("openai-compatible/sim-1", { baseUrl })),
    noTimeout: ManagedRuntime.make(Lm.layer("openai-compatible/sim-1", { baseUrl, retry: { timeout: undefined } })),
    httpSpan: ManagedRuntime.make(
      Resilience.layer().pipe(
        Layer.provide(ChatCompletions.layer({ model: "sim-1", apiUrl: baseUrl })),
        Layer.provide(NodeHttpClient.layerUndici)
      )
    )
  }
  const calls = (runtime: ManagedRuntime.ManagedRuntime<LanguageModel.LanguageModel, unknown>) => (n: number) =>
    runtime.runPromise(
      Effect.forEach(Array.from({ length: n }), () => LanguageModel.generateText({ prompt }), {
        concurrency: CONCURRENCY,
        discard: true
      })
    )
  try {
    const variants: ReadonlyArray<readonly [string, (n: number) => Promise<void>]> = [
      ["fetch (floor)", (n) => pool(n, CONCURRENCY, bareFetch(sim.url))],
      ["Lm.layer (openai-compatible)", calls(runtimes.lm)],
      ["Lm.layer, no timeout", calls(runtimes.noTimeout)],
      ["with the platform's HTTP span", calls(runtimes.httpSpan)],
      [
        "Predict over Lm.layer",
        (n) =>
          runtimes.lm.runPromise(
            Effect.forEach(Array.from({ length: n }), () => qa({ question: prompt }), { concurrency: CONCURRENCY, discard: true }).pipe(
              Adapter.withAdapter(ChatAdapter.adapter)
            )
          )
      ]
    ]
    for (const [, run] of variants) await run(WARMUP)
    const results = new Map<string, Array<Measure>>()
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, run] of variants) results.set(name, [...(results.get(name) ?? []), await measure(CALLS, run)])
    }
    const floor = median(results.get("fetch (floor)")!.map((m) => m.cpuMicrosPerCall))
    console.log(`${CALLS} calls x ${ROUNDS} rounds at concurrency ${CONCURRENCY}, simulator in a child process, median of rounds`)
    console.log("variant                          cpu µs/call   calls/s   vs floor")
    for (const [name, ms] of results) {
      const cpu = median(ms.map((m) => m.cpuMicrosPerCall))
      const rate = median(ms.map((m) => m.callsPerSecond))
      console.log(`${name.padEnd(32)} ${cpu.toFixed(0).padStart(11)} ${rate.toFixed(0).padStart(9)} ${(cpu / floor).toFixed(2).padStart(9)}x`)
    }
  } finally {
    for (const runtime of Object.values(runtimes)) await runtime.dispose()
    sim.stop()
  }
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
