/**
 * What the per-attempt timeout of `Resilience` (`Effect.timeoutFail`) costs per call, and why.
 * `Effect.timeoutFail` races the effect against a sleep: two child fibers per call (the effect
 * itself runs in one), each a copy of the caller's fiber refs, joined back into the caller, the
 * sleeper interrupted and awaited; four more scheduler turns and their garbage. Each variant
 * runs the same call at concurrency 64 and prints this process's CPU per call:
 *
 * - in-process: an async step (resumed by `setImmediate`, as a socket read would be) inside a
 *   span, bare; in a forked fiber that is joined (what one fork costs); and under
 *   `Effect.timeoutFail` (what the timeout costs);
 * - through `Lm.layer` against the simulator in a child process: the default policy (timeout
 *   around each attempt), no timeout, and the timeout moved onto the HTTP client's requests
 *   (`HttpClient.transform`), where the raced child does the least work.
 *
 * Through `Lm.layer` the timeout costs several times what it costs in-process: its fibers live as
 * long as the call (milliseconds, with 64 in flight), so they survive young-generation
 * collections and are copied and promoted. Run it once more with a larger young generation
 * (`node --max-semi-space-size=64 --import tsx …`) to see that share shrink.
 *
 *   pnpm exec tsx packages/bench/src/providers/timeout-cost.ts [--calls 3000] [--rounds 3] [--concurrency 64]
 *
 * Prints figures; asserts nothing.
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import { Lm } from "@effect-dspy/providers"
import * as HttpClient from "@effect/platform/HttpClient"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Duration, Effect, Fiber, Layer, ManagedRuntime } from "effect"
import { parseArgs } from "node:util"
import { measure, median, runHeader, startSimulator } from "../harness/measure.js"

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
// The in-process variants are cheap: more calls for a steadier figure.
const LOCAL_CALLS = CALLS * 10
const timeout = Duration.seconds(60)
const timedOut = () => new Error("timed out")

// One async step inside a span, as a model call's socket read is.
const io = Effect.async<number>((resume) => {
  const handle = setImmediate(() => resume(Effect.succeed(1)))
  return Effect.sync(() => clearImmediate(handle))
})
const step = Effect.withSpan(Effect.map(io, (n) => n + 1), "step")

const local = ManagedRuntime.make(Layer.empty)
const inProcess: ReadonlyArray<readonly [string, Effect.Effect<unknown, Error>]> = [
  ["async step", step],
  ["async step in a forked fiber", Effect.flatMap(Effect.fork(step), Fiber.join)],
  ["async step, Effect.timeoutFail", Effect.timeoutFail(step, { duration: timeout, onTimeout: timedOut })]
]

const main = async () => {
  console.log(runHeader())
  const sim = await startSimulator()
  const baseUrl = `${sim.url}/v1`
  // The timeout on the HTTP client's requests instead of around the model call.
  const timedHttp = Layer.effect(
    HttpClient.HttpClient,
    Effect.map(
      HttpClient.HttpClient,
      HttpClient.transform((request) => Effect.timeoutFail(request, { duration: timeout, onTimeout: timedOut as never }))
    )
  ).pipe(Layer.provide(NodeHttpClient.layerUndici))
  const models = {
    "Lm.layer (timeout per attempt)": ManagedRuntime.make(Lm.layer("openai-compatible/sim-1", { baseUrl })),
    "Lm.layer, no timeout": ManagedRuntime.make(Lm.layer("openai-compatible/sim-1", { baseUrl, retry: { timeout: undefined } })),
    "Lm.layer, timeout on HTTP requests": ManagedRuntime.make(
      Lm.layer("openai-compatible/sim-1", { baseUrl, retry: { timeout: undefined }, httpClient: timedHttp })
    )
  }
  const variants: Array<readonly [string, number, (n: number) => Promise<void>]> = [
    ...inProcess.map(([name, call]) =>
      [
        name,
        LOCAL_CALLS,
        (n: number) => local.runPromise(Effect.forEach(Array.from({ length: n }), () => call, { concurrency: CONCURRENCY, discard: true }))
      ] as const
    ),
    ...Object.entries(models).map(([name, runtime]) =>
      [
        name,
        CALLS,
        (n: number) =>
          runtime.runPromise(
            Effect.forEach(Array.from({ length: n }), () => LanguageModel.generateText({ prompt: "Say something short about coffee." }), {
              concurrency: CONCURRENCY,
              discard: true
            })
          )
      ] as const
    )
  ]
  try {
    for (const [, calls, run] of variants) await run(Math.min(600, calls))
    const results = new Map<string, Array<number>>()
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, calls, run] of variants) {
        results.set(name, [...(results.get(name) ?? []), (await measure(calls, run)).cpuMicrosPerCall])
      }
    }
    console.log(`concurrency ${CONCURRENCY}, median of ${ROUNDS} rounds; in-process ${LOCAL_CALLS} calls, Lm.layer ${CALLS} calls`)
    console.log("variant                               cpu µs/call")
    for (const [name, cpus] of results) console.log(`${name.padEnd(38)} ${median(cpus).toFixed(1).padStart(10)}`)
  } finally {
    for (const runtime of Object.values(models)) await runtime.dispose()
    await local.dispose()
    sim.stop()
  }
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
