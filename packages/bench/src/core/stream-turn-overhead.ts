/**
 * CPU per streamed turn spent by the library itself, before and around its tokens: an
 * in-process model emits its whole answer (`--tokens` text deltas) in one chunk, with no
 * latency, so that `process.cpuUsage()` measures the per-turn setup of each layer.
 *
 *   pnpm exec tsx packages/bench/src/core/stream-turn-overhead.ts [--turns 2000] [--tokens 1]
 *     [--concurrency 32] [--rounds 3]
 *
 * Variants (each on the same fake model unless named "simulator"):
 * - `model.streamText`: `LanguageModel.streamText` alone, drained (the floor of a turn);
 * - `Predict` (not streamed, `generateText`), for reference;
 * - `StreamPredict(Predict)`: `StreamPredict.stream` over a Predict module;
 * - `Conversation.ask`: a chat turn (history, turn lock, append);
 * - `simulator streamText` / `simulator Conversation.ask`: the in-process simulator as the model;
 * - `http …`: the openai-compatible provider against the simulator server in a child process
 *   (loopback HTTP, so these include the HTTP client), with the retry policy's idle timeout
 *   (`http+timeout`) or without it (`http`).
 *
 * Profile with `node --cpu-prof --import tsx packages/bench/src/core/stream-turn-overhead.ts`.
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Response from "@effect/ai/Response"
import { Conversation, Predict, Signature, StreamPredict } from "@effect-dspy/core"
import { Lm } from "@effect-dspy/providers"
import { Simulator } from "@effect-dspy/simulator"
import { Effect, Layer, ManagedRuntime, Stream } from "effect"
import { median, runHeader, startSimulator } from "../harness/measure.js"

const args = new Map<string, string>()
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ""), process.argv[i + 1] ?? "")
const TURNS = Number(args.get("turns") ?? 2000)
const TOKENS = Math.max(1, Number(args.get("tokens") ?? 1))
const CONCURRENCY = Math.max(1, Number(args.get("concurrency") ?? 32))
const ROUNDS = Number(args.get("rounds") ?? 3)
const ONLY = args.get("only")

const QA = Signature.fromString("question -> answer", { name: "QA", instructions: "Answer the question." })
const qa = Predict.make(QA)
const input = { question: "What is the best way to brew coffee?" }
const reply = `[[ ## answer ## ]]\n${Array.from({ length: TOKENS }, (_, i) => `w${i}`).join(" ")}\n\n[[ ## completed ## ]]`
const deltas = reply.match(/\s*\S+|\s+$/g) ?? [reply]
const usage = { inputTokens: 10, outputTokens: TOKENS, totalTokens: 10 + TOKENS }

// A fake model with the providers' shape: `streamText` opens its span and emits decoded parts
// in one chunk (no generic decoding), `generateText` answers at once.
const fakeModel = Effect.gen(function*() {
  const generic = yield* LanguageModel.make({
    generateText: () => Effect.succeed([{ type: "text", text: reply }, { type: "finish", reason: "stop", usage }]),
    streamText: () => Stream.empty
  })
  const streamText = (): Stream.Stream<Response.StreamPart<{}>> =>
    Stream.unwrapScoped(Effect.map(
      Effect.makeSpanScoped("LanguageModel.streamText", { captureStackTrace: false }),
      () => {
        const parts: Array<Response.StreamPart<{}>> = [Response.makePart("text-start", { id: "0", metadata: {} })]
        for (const delta of deltas) parts.push(Response.makePart("text-delta", { id: "0", delta, metadata: {} }))
        parts.push(Response.makePart("text-end", { id: "0", metadata: {} }))
        parts.push(Response.makePart("finish", { reason: "stop", usage: new Response.Usage(usage, { disableValidation: true }), metadata: {} }))
        return Stream.fromIterable(parts)
      }
    ))
  return {
    ...generic,
    streamText: (_options) => streamText() as ReturnType<LanguageModel.Service["streamText"]>
  } satisfies LanguageModel.Service
})

const simulatorModel = Simulator.make({ latency: { _tag: "Fixed", millis: 0 }, seed: 1 })

type Turn = (worker: number) => Effect.Effect<unknown, unknown, LanguageModel.LanguageModel>

const conversations = (): Effect.Effect<Turn> =>
  Effect.map(
    Effect.forEach(Array.from({ length: CONCURRENCY }), () => Conversation.make({ system: "Be brief.", maxMessages: 4 })),
    (chats): Turn => (worker) => Stream.runDrain(chats[worker]!.ask("What is a flat white?"))
  )

type Model = "fake" | "simulator" | "http" | "httpTimeout"

const variants: ReadonlyArray<readonly [string, Model, Effect.Effect<Turn>]> = [
  ["model.streamText", "fake", Effect.succeed(() => Stream.runDrain(LanguageModel.streamText({ prompt: "Hi" })))],
  ["Predict (generateText)", "fake", Effect.succeed(() => qa(input))],
  ["StreamPredict(Predict)", "fake", Effect.succeed(() => Stream.runDrain(StreamPredict.stream(qa, input)))],
  ["Conversation.ask", "fake", conversations()],
  ["simulator streamText", "simulator", Effect.succeed(() => Stream.runDrain(LanguageModel.streamText({ prompt: "Hi" })))],
  ["simulator Conversation.ask", "simulator", conversations()],
  ["http streamText", "http", Effect.succeed(() => Stream.runDrain(LanguageModel.streamText({ prompt: "Hi" })))],
  ["http Conversation.ask", "http", conversations()],
  ["http+timeout streamText", "httpTimeout", Effect.succeed(() => Stream.runDrain(LanguageModel.streamText({ prompt: "Hi" })))],
  ["http+timeout Conversation.ask", "httpTimeout", conversations()]
]

const main = async () => {
  console.log(runHeader())
  const selected = variants.filter(([name]) => ONLY === undefined || name.includes(ONLY))
  const sim = selected.some(([, model]) => model === "http" || model === "httpTimeout")
    ? await startSimulator()
    : undefined
  const http = (timeout: "60 seconds" | undefined) =>
    sim === undefined ? Layer.die("no simulator") : Lm.layer("openai-compatible/sim-1", {
      baseUrl: `${sim.url}/v1`,
      retry: { timeout }
    })
  const runtimes: Record<Model, ManagedRuntime.ManagedRuntime<LanguageModel.LanguageModel, unknown>> = {
    fake: ManagedRuntime.make(Layer.effect(LanguageModel.LanguageModel, fakeModel)),
    simulator: ManagedRuntime.make(Layer.effect(LanguageModel.LanguageModel, simulatorModel)),
    http: ManagedRuntime.make(http(undefined)),
    httpTimeout: ManagedRuntime.make(http("60 seconds"))
  }
  const turns = await Promise.all(selected.map(([, , make]) => Effect.runPromise(make)))
  const run = (i: number, n: number) => {
    const turn = turns[i]!
    const [, model] = selected[i]!
    return runtimes[model].runPromise(
      Effect.forEach(Array.from({ length: CONCURRENCY }), (_, worker) =>
        Effect.repeatN(turn(worker), Math.ceil(n / CONCURRENCY) - 1), { concurrency: "unbounded", discard: true })
    )
  }
  for (let i = 0; i < selected.length; i++) await run(i, Math.min(TURNS, 500))
  const results = selected.map(() => [] as Array<number>)
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < selected.length; i++) {
      const n = Math.ceil(TURNS / CONCURRENCY) * CONCURRENCY
      const cpu0 = process.cpuUsage()
      await run(i, n)
      const cpu = process.cpuUsage(cpu0)
      results[i]!.push((cpu.user + cpu.system) / n)
    }
  }
  console.log(
    `${TURNS} turns x ${ROUNDS} rounds, ${TOKENS}-token answers in one chunk, ${CONCURRENCY} at once; median CPU per turn`
  )
  for (let i = 0; i < selected.length; i++) {
    console.log(`${selected[i]![0].padEnd(30)} ${median(results[i]!).toFixed(0).padStart(8)} µs/turn`)
  }
  await Promise.all(Object.values(runtimes).map((runtime) => runtime.dispose()))
  sim?.stop()
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
