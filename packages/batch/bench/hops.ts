/**
 * Where a request's time goes: the same chat-completions call measured at each layer, from a
 * bare `node:http` request up to a `Batch.run` item, against a simulator with a fixed latency.
 * Prints, per layer, the time over the simulated latency (p50 / p99) and the client CPU per call.
 *
 *   pnpm exec tsx packages/batch/bench/hops.ts
 *   LATENCY=100 CALLS=60 CONCURRENCY=1 SEPARATE_SERVER=1 to change the setting; ONLY_RAW=1 for the
 *   bare node:http row alone (the floor); HTTP_CLIENT=node puts the model rows on node:http
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Lm from "@effect-dspy/providers/Lm"
import { Predict, Signature } from "@effect-dspy/core"
import { Effect, Layer } from "effect"
import * as Http from "node:http"
import { Batch } from "../src/index.js"
import { httpClientName, machine, model, questions, serverUrl } from "./common.js"

const LATENCY = Number(process.env["LATENCY"] ?? 100)
const CALLS = Number(process.env["CALLS"] ?? 60)
const CONCURRENCY = Number(process.env["CONCURRENCY"] ?? 1)

const qa = Predict.make(Signature.fromString("question -> answer"))
const body = (i: number) =>
  JSON.stringify({
    model: "sim-1",
    messages: [{ role: "system", content: "Answer the question." }, { role: "user", content: `Question ${i}?` }]
  })

const quantile = (xs: ReadonlyArray<number>, q: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!
}

/** Runs `CALLS` calls at `CONCURRENCY`, timing each, and prints the overhead over `LATENCY`. */
const measure = <E, R>(name: string, call: (i: number) => Effect.Effect<unknown, E, R>, offset = 0) =>
  Effect.gen(function*() {
    const times: Array<number> = []
    const timed = (i: number) =>
      Effect.suspend(() => {
        const t0 = performance.now()
        return Effect.tap(call(i + offset), () => Effect.sync(() => times.push(performance.now() - t0 - LATENCY)))
      })
    yield* Effect.forEach(Array.from({ length: 10 }, (_, i) => i + 100_000), (i) => call(i + offset), { concurrency: CONCURRENCY })
    const cpu0 = process.cpuUsage()
    const w0 = performance.now()
    yield* Effect.forEach(Array.from({ length: CALLS }, (_, i) => i), timed, { concurrency: CONCURRENCY, discard: true })
    const wall = performance.now() - w0
    const cpu = process.cpuUsage(cpu0)
    report(name, times, (cpu.user + cpu.system) / 1000 / CALLS, wall)
  })

/** Prints one layer's figures. */
const report = (name: string, times: ReadonlyArray<number>, cpuPerCall: number, wall: number) => {
  const ideal = Math.ceil(CALLS / CONCURRENCY) * LATENCY
  console.log(
    `  ${name.padEnd(28)} over latency min ${Math.min(...times).toFixed(2)} ms, p10 ${quantile(times, 0.1).toFixed(2)} ms, p50 ${quantile(times, 0.5).toFixed(2)} ms, p99 ${quantile(times, 0.99).toFixed(2)} ms, ` +
      `max ${Math.max(...times).toFixed(2)} ms; client cpu ${cpuPerCall.toFixed(2)} ms/call; wall ${(wall / ideal).toFixed(4)}x ideal`
  )
}

const program = Effect.gen(function*() {
  const { url, where } = yield* serverUrl(
    { latency: { _tag: "Fixed", millis: LATENCY } },
    { default: true, simulatorArgs: ["--latency", String(LATENCY)] }
  )
  console.log(
    `hops: ${CALLS} calls at concurrency ${CONCURRENCY}, latency ${LATENCY} ms; simulator ${where}; model over ${httpClientName} (${machine()})`
  )
  const agent = new Http.Agent({ keepAlive: true, maxSockets: 64 })
  const target = new URL(`${url}/v1/chat/completions`)
  const raw = (i: number) =>
    Effect.async<string, Error>((resume) => {
      const req = Http.request(
        { host: target.hostname, port: target.port, path: target.pathname, method: "POST", agent, headers: { "content-type": "application/json" } },
        (res) => {
          let text = ""
          res.setEncoding("utf8")
          res.on("data", (c: string) => (text += c))
          res.on("end", () => resume(Effect.succeed(text)))
        }
      )
      req.setNoDelay(true)
      req.on("error", (e) => resume(Effect.fail(e)))
      req.end(body(i))
    })
  yield* measure("node:http", raw)
  if (process.env["ONLY_RAW"] === "1") return
  const post = (client: HttpClient.HttpClient) => (i: number) =>
    Effect.flatMap(
      client.execute(HttpClientRequest.bodyText(HttpClientRequest.post(target.toString()), body(i), "application/json")),
      (r) => r.text
    )
  const nodeClient = yield* HttpClient.HttpClient.pipe(
    Effect.provide(yield* Layer.build(Layer.provide(NodeHttpClient.layerWithoutAgent, NodeHttpClient.makeAgentLayer({ keepAlive: true }))))
  )
  yield* measure("HttpClient (node:http)", post(nodeClient), 500)
  const client = yield* HttpClient.HttpClient.pipe(Effect.provide(yield* Layer.build(Lm.httpClientLayer)))
  yield* measure("HttpClient (undici)", post(client), 1000)
  const { context } = yield* model(url, { maxConcurrency: 64 })
  yield* measure("LanguageModel.generateText", (i) =>
    LanguageModel.generateText({ prompt: `Question ${i}?` }).pipe(Effect.provide(context)), 2000)
  const qs = questions(CALLS + 20, "p")
  yield* measure("Predict", (i) => qa(qs[i % qs.length]!).pipe(Effect.provide(context)))
  // one run of all the calls: an item's time over the latency, as the runner measures it
  const warm = yield* Batch.run(qa, questions(10 * CONCURRENCY, "bw"), { concurrency: CONCURRENCY, dedupe: false }).pipe(Effect.provide(context))
  if (warm.summary.failed > 0) return yield* Effect.dieMessage("warm-up items failed")
  const cpu0 = process.cpuUsage()
  const { outcomes, summary } = yield* Batch.run(qa, questions(CALLS, "br"), { concurrency: CONCURRENCY, dedupe: false }).pipe(
    Effect.provide(context)
  )
  const cpu = process.cpuUsage(cpu0)
  report("Batch.run (items of one run)", outcomes.map((o) => o.latencyMillis - LATENCY), (cpu.user + cpu.system) / 1000 / CALLS, summary.wallMillis)
  // a whole run per call: the runner's setup and teardown on top of the item
  const bs = questions(CALLS + 20, "b")
  yield* measure("Batch.run (a run per call)", (i) =>
    Batch.run(qa, [bs[i % bs.length]!], { concurrency: 1, dedupe: false }).pipe(Effect.provide(context)))
  agent.destroy()
})

Effect.runPromise(Effect.scoped(program)).catch((e) => {
  console.error(e)
  process.exit(1)
})
