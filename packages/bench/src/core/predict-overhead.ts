/**
 * Client CPU per prediction of `Predict` over the openai-compatible provider, next to a bare
 * `fetch` of the same request (the floor), against the simulator in a child process with zero
 * latency, so that `process.cpuUsage()` measures the client alone.
 *
 *   pnpm exec tsx packages/bench/src/core/predict-overhead.ts [--calls 3000] [--concurrency 64] [--rounds 3] [--json out.json]
 *
 * Target: Predict's CPU per call at most 1.3x the floor's. Without a tracer (the main
 * figure) modules skip their spans; "spans recorded" installs a tracer that forwards to
 * Effect's built-in one, to show what making the spans costs when telemetry is on.
 */
import { ChatAdapter, Predict, Signature } from "@effect-dspy/core"
import { Lm } from "@effect-dspy/providers"
import { Context, DefaultServices, Effect, ManagedRuntime, Tracer } from "effect"
import { writeFileSync } from "node:fs"
import { measure, type Measure, median, pool, runHeader, startSimulator } from "../harness/measure.js"

const args = new Map<string, string>()
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ""), process.argv[i + 1] ?? "")
const CALLS = Number(args.get("calls") ?? 3000)
const CONCURRENCY = Number(args.get("concurrency") ?? 64)
const ROUNDS = Number(args.get("rounds") ?? 3)
const WARMUP = Math.min(600, CALLS)

const QA = Signature.fromString("question -> answer", { name: "QA", instructions: "Answer the question in one sentence." })
const qa = Predict.make(QA)
const input = { question: "What is the best way to brew coffee?" }

// The floor sends exactly the messages Predict sends and reads the reply text.
const messages = ChatAdapter.adapter
  .format({ signature: QA, instructions: QA.instructions, demos: [], inputs: input, failedReplies: [] })
  .content.map((message) => ({
    role: message.role,
    content: message.role === "system"
      ? message.content
      : message.content.map((part) => (part.type === "text" ? part.text : "")).join("")
  }))

const bareFetch = (url: string) => async (): Promise<void> => {
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify({ model: "sim-1", messages })
  })
  const json = (await response.json()) as { choices: Array<{ message: { content: string } }> }
  if (typeof json.choices[0]?.message.content !== "string") throw new Error("bad reply")
}

const main = async () => {
  console.log(runHeader())
  const sim = await startSimulator()
  try {
    const runtime = ManagedRuntime.make(Lm.layer("openai-compatible/sim-1", { baseUrl: `${sim.url}/v1` }))
    const predict = (n: number) =>
      runtime.runPromise(
        Effect.forEach(Array.from({ length: n }), () => qa(input), { concurrency: CONCURRENCY, discard: true })
      )
    // With a tracer installed, modules make their spans; this one forwards to Effect's
    // built-in tracer, so the figure is the cost of making spans (exporting them is not counted).
    const native = Context.get(DefaultServices.liveServices, Tracer.Tracer)
    const forwarding = Tracer.make({ span: (...args) => native.span(...args), context: native.context })
    const predictTraced = (n: number) =>
      runtime.runPromise(
        Effect.forEach(Array.from({ length: n }), () => qa(input), { concurrency: CONCURRENCY, discard: true }).pipe(
          Effect.withTracer(forwarding)
        )
      )
    const variants: ReadonlyArray<readonly [string, (n: number) => Promise<void>]> = [
      ["fetch (floor)", (n) => pool(n, CONCURRENCY, bareFetch(sim.url))],
      ["Predict (openai-compatible)", predict],
      ["Predict, spans recorded", predictTraced]
    ]
    for (const [, run] of variants) await run(WARMUP)
    const results = new Map<string, Array<Measure>>()
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, run] of variants) results.set(name, [...(results.get(name) ?? []), await measure(CALLS, run)])
    }
    const floor = median(results.get("fetch (floor)")!.map((m) => m.cpuMicrosPerCall))
    const rows = [...results].map(([name, ms]) => {
      const cpu = median(ms.map((m) => m.cpuMicrosPerCall))
      return { name, cpuMicrosPerCall: cpu, callsPerSecond: median(ms.map((m) => m.callsPerSecond)), vsFloor: cpu / floor }
    })
    console.log(`${CALLS} predictions x ${ROUNDS} rounds at concurrency ${CONCURRENCY}; simulator in a child process; median of rounds`)
    console.log("variant                          cpu µs/call   calls/s   vs floor")
    for (const row of rows) {
      console.log(
        `${row.name.padEnd(32)} ${row.cpuMicrosPerCall.toFixed(0).padStart(11)} ${row.callsPerSecond.toFixed(0).padStart(9)} ${
          row.vsFloor.toFixed(2).padStart(9)
        }x`
      )
    }
    const jsonPath = args.get("json")
    if (jsonPath !== undefined) writeFileSync(jsonPath, JSON.stringify({ calls: CALLS, concurrency: CONCURRENCY, rows }, null, 2))
    await runtime.dispose()
  } finally {
    sim.stop()
  }
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
