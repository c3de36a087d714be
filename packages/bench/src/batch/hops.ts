/**
 * Where a batch item's client CPU goes, layer by layer: the same calls at concurrency 10 against
 * a bare server (`bare.ts`, a short latency so that the run is quick), each layer adding one hop
 * of the path `Batch.run` takes, the client's CPU per call (this process's user + system time;
 * the server is another process) best of the rounds, interleaved:
 *
 * - `node:http` bare: the floor's own client (no Effect);
 * - `Effect floor`: `effectFloor.ts`, the same calls on the building blocks alone (the platform's
 *   client, a cached Schema decode, a timeout and a retry per call, `Effect.forEach`), and the same
 *   floor's calls through `Stream.mapEffect` (unordered) instead, for what a stream costs per item,
 *   and behind `@effect/ai`'s `LanguageModel.make` (`generateText`), for what that block costs;
 * - `HttpClient`: a POST of the same body through the platform's client (undici, the providers'
 *   default on Node) and its JSON read back;
 * - `generateText`: `LanguageModel.generateText` through `Lm.layer("openai-compatible/…")` with
 *   a `RateControl` as its limiter and no retry (the provider's request, decoding, `Resilience`);
 * - `Predict`: the same through core's `Predict` (the adapter's prompt and parse, the Schema);
 * - `Batch.run`: the same items through the runner;
 * - each again with the tracer off (`Effect.withTracerEnabled(false)`), to show what the spans cost.
 *
 * Differences between neighbouring rows are what each layer costs per call. The efficiency
 * benchmark's gap to its floor is about (rounds x replies per round) x (our CPU per reply - the
 * floor's), so this is where to look when it is over.
 *
 *   pnpm exec tsx packages/bench/src/batch/hops.ts       (CALLS=1000 ROUNDS=3 LATENCY=5 WARMUP=1000)
 */
import { Batch } from "@effect-dspy/batch"
import { Predict, Signature } from "@effect-dspy/core"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Effect, Layer, Stream } from "effect"
import * as Bare from "./bare.js"
import * as EffectFloor from "./effectFloor.js"
import { machine, model, questions, withCpu } from "./common.js"

const CALLS = Number(process.env["CALLS"] ?? 1000)
const ROUNDS = Number(process.env["ROUNDS"] ?? 3)
const LATENCY = Number(process.env["LATENCY"] ?? 5)
const WARMUP = Number(process.env["WARMUP"] ?? 1000)
const CONCURRENCY = 10

const qa = Predict.make(Signature.fromString("question -> answer"))

const program = Effect.gen(function*() {
  const server = yield* Effect.acquireRelease(Effect.promise(() => Bare.startServer("timer", LATENCY)), (s) => Effect.sync(s.stop))
  const bare = Bare.client(server.base, CONCURRENCY)
  yield* Effect.addFinalizer(() => Effect.sync(bare.close))
  const { context } = yield* model(server.base, { maxConcurrency: CONCURRENCY }, { maxRetries: 0 })
  const effectFloor = yield* EffectFloor.make(server.base, CONCURRENCY)
  const texts = (tag: string) => questions(CALLS, tag).map((q) => q.question)
  const http = yield* HttpClient.HttpClient.pipe(Effect.provide(yield* Layer.build(NodeHttpClient.layerUndici)))
  const url = `${server.base}/v1/chat/completions`
  const post = (question: string) =>
    http.execute(HttpClientRequest.bodyUnsafeJson(HttpClientRequest.post(url), {
      model: "sim-1",
      messages: [{ role: "system", content: "Answer the question." }, { role: "user", content: question }]
    })).pipe(Effect.flatMap((response) => response.json), Effect.scoped, Effect.orDie)
  const each = <A, E>(f: (question: string) => Effect.Effect<A, E, LanguageModel.LanguageModel>) => (tag: string) =>
    Effect.forEach(questions(CALLS, tag), ({ question }) => f(question), { concurrency: CONCURRENCY, discard: true }).pipe(
      Effect.provide(context)
    )
  const layers: ReadonlyArray<readonly [string, (tag: string) => Effect.Effect<unknown, unknown>]> = [
    ["node:http bare", (tag) => Effect.promise(() => bare.run(questions(CALLS, tag).map((q) => q.question)))],
    ["HttpClient (undici)", each(post)],
    ["Effect floor", (tag) => effectFloor.run(texts(tag))],
    ["Effect floor, Stream.mapEffect", (tag) => Stream.runDrain(Stream.mapEffect(Stream.fromIterable(texts(tag)), effectFloor.ask, { concurrency: CONCURRENCY, unordered: true }))],
    ["Effect floor, @effect/ai generateText", (tag) =>
      Effect.forEach(texts(tag), (question) => LanguageModel.generateText({ prompt: question }), { concurrency: CONCURRENCY, discard: true }).pipe(
        Effect.provideService(LanguageModel.LanguageModel, effectFloor.languageModel)
      )],
    ["generateText", each((question) => LanguageModel.generateText({ prompt: question }))],
    ["Predict", each((question) => qa({ question }))],
    ["Batch.run", (tag) => Batch.run(qa, questions(CALLS, tag), { concurrency: CONCURRENCY, dedupe: false }).pipe(Effect.provide(context))]
  ]
  const rows = layers.flatMap(([name, run]) => [
    [name, run] as const,
    ...(name === "node:http bare" ? [] : [[`${name}, no tracer`, (tag: string) => Effect.withTracerEnabled(run(tag), false)] as const])
  ])
  // warm-up: each row at least WARMUP calls
  for (let w = 0; w < Math.ceil(WARMUP / CALLS); w++) for (const [, run] of rows) yield* run(`warm${w}-`)
  console.log(`hops: ${CALLS} calls at concurrency ${CONCURRENCY}, latency ${LATENCY} ms, best of ${ROUNDS} rounds (${machine()})`)
  const best = new Map<string, number>()
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, run] of rows) {
      const { cpuMillis } = yield* withCpu(run(`r${r}-${name}-`))
      best.set(name, Math.min(best.get(name) ?? Infinity, (cpuMillis * 1000) / CALLS))
    }
  }
  for (const [name, micros] of best) console.log(`  ${name.padEnd(32)} ${micros.toFixed(0).padStart(6)} us client CPU per call`)
})

Effect.runPromise(Effect.scoped(program)).then(
  () => process.exit(0),
  (e) => {
    console.error(e)
    process.exit(1)
  }
)
