/**
 * Client CPU per call of the openai-compatible provider vs a bare `fetch` (the floor).
 *
 *   pnpm exec tsx packages/providers/bench/chat-overhead.ts [--calls 3000] [--concurrency 64] [--rounds 3] [--only undici,node]
 *
 * The simulator runs in a child process (packages/simulator/src/bin.ts, zero latency),
 * so `process.cpuUsage()` here measures the client alone. Each variant does the same
 * request (POST /v1/chat/completions, a short text answer) and reads the whole reply.
 * Target: the provider's CPU per call at most 1.3x the floor's. Variants: the provider
 * over Effect's FetchHttpClient, over the library's default client (`Lm.httpClientLayer`),
 * over each of our two Node clients by name (undici, `node:http`), and `Lm.layer` itself
 * (adds the resilience policy: classification, timeout, retry).
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { Effect, Layer, ManagedRuntime } from "effect"
// Scripts, not library code: the benchmark package's harness, by path.
import { type Measure, measure, median, pool, startSimulator } from "../../bench/src/internal/harness.js"
import * as ChatCompletions from "../src/ChatCompletions.js"
import * as NodeHttpClient from "../src/internal/nodeHttpClient.js"
import * as UndiciClient from "../src/internal/undiciClient.js"
import * as Lm from "../src/Lm.js"

const args = new Map<string, string>()
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ""), process.argv[i + 1] ?? "")
const CALLS = Number(args.get("calls") ?? 3000)
const CONCURRENCY = Number(args.get("concurrency") ?? 64)
const ROUNDS = Number(args.get("rounds") ?? 3)
const WARMUP = Math.min(600, CALLS)
// `--only undici,node` runs the floor and the variants whose name contains one of the words.
const ONLY = args.get("only")?.split(",").filter((word) => word !== "")

const prompt = "Say something short about coffee."

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
  const sim = await startSimulator(["--latency", "0"])
  try {
    const overFetch = ManagedRuntime.make(
      ChatCompletions.layer({ model: "sim-1", apiUrl: `${sim.url}/v1` }).pipe(Layer.provide(FetchHttpClient.layer))
    )
    const raw = ManagedRuntime.make(
      ChatCompletions.layer({ model: "sim-1", apiUrl: `${sim.url}/v1` }).pipe(Layer.provide(Lm.httpClientLayer))
    )
    const overNode = ManagedRuntime.make(
      ChatCompletions.layer({ model: "sim-1", apiUrl: `${sim.url}/v1` }).pipe(Layer.provide(NodeHttpClient.layer))
    )
    const overUndici = ManagedRuntime.make(
      ChatCompletions.layer({ model: "sim-1", apiUrl: `${sim.url}/v1` }).pipe(Layer.provide(UndiciClient.layer))
    )
    const resilient = ManagedRuntime.make(Lm.layer("openai-compatible/sim-1", { baseUrl: `${sim.url}/v1` }))
    const viaEffect = (runtime: ManagedRuntime.ManagedRuntime<LanguageModel.LanguageModel, unknown>) => (n: number) =>
      runtime.runPromise(
        Effect.forEach(
          Array.from({ length: n }),
          () => LanguageModel.generateText({ prompt }),
          { concurrency: CONCURRENCY, discard: true }
        )
      )
    const all: ReadonlyArray<readonly [string, (n: number) => Promise<void>]> = [
      ["fetch (floor)", (n) => pool(n, CONCURRENCY, bareFetch(sim.url))],
      ["ChatCompletions over fetch", viaEffect(overFetch)],
      ["ChatCompletions over default", viaEffect(raw)],
      ["ChatCompletions over undici", viaEffect(overUndici)],
      ["ChatCompletions over node:http", viaEffect(overNode)],
      ["Lm.layer (default, resilient)", viaEffect(resilient)]
    ]
    const variants = all.filter(([name]) =>
      ONLY === undefined || name === "fetch (floor)" || ONLY.some((word) => name.includes(word))
    )
    const results = new Map<string, Array<Measure>>()
    for (const [, run] of variants) await run(WARMUP)
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, run] of variants) {
        const m = await measure(CALLS, run)
        results.set(name, [...(results.get(name) ?? []), m])
      }
    }
    const floor = median(results.get("fetch (floor)")!.map((m) => m.cpuMicrosPerCall))
    console.log(`${CALLS} calls x ${ROUNDS} rounds at concurrency ${CONCURRENCY}, simulator in a child process, median of rounds`)
    console.log("variant                          cpu µs/call   calls/s   vs floor")
    for (const [name, ms] of results) {
      const cpu = median(ms.map((m) => m.cpuMicrosPerCall))
      const rate = median(ms.map((m) => m.callsPerSecond))
      console.log(`${name.padEnd(32)} ${cpu.toFixed(0).padStart(11)} ${rate.toFixed(0).padStart(9)} ${(cpu / floor).toFixed(2).padStart(9)}x`)
    }
    await overFetch.dispose()
    await raw.dispose()
    await overNode.dispose()
    await overUndici.dispose()
    await resilient.dispose()
  } finally {
    sim.stop()
  }
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
