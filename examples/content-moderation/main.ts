/**
 * The content-moderation example: one analyzer used from an HTTP endpoint and from a
 * background job, with the model's retries visible in the event log.
 *
 *   pnpm exec tsx examples/content-moderation/main.ts          # demo: requests, then the job
 *   pnpm exec tsx examples/content-moderation/main.ts serve    # only the server (PORT, default 3000)
 *
 * Offline, the simulator answers with a keyword classifier (./script.ts) after 150-400 ms and
 * injects faults (15% rate limits, 10% server errors, 10% malformed replies) so that retries
 * happen; with an API key (see `SimulatorProvider.layerFromEnvOrSimulator`) a real model answers and faults are real.
 */
import type * as LanguageModel from "@effect/ai/LanguageModel"
import { EventBus } from "@effect-dspy/core"
import { SimulatorProvider } from "@effect-dspy/simulator"
import { EventLog } from "@effect-dspy/telemetry"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpServer from "@effect/platform/HttpServer"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Array as Arr, Config, Console, Context, Deferred, Effect, Layer } from "effect"
import { createServer } from "node:http"
import * as Http from "./Http.js"
import { backlog } from "./items.js"
import * as Job from "./Job.js"
import { moderationScript } from "./script.js"

const Model = SimulatorProvider.layerFromEnvOrSimulator({
  simulator: {
    seed: 3,
    latency: { _tag: "Uniform", minMillis: 150, maxMillis: 400 },
    faults: { rateLimit: 0.15, serverError: 0.1, malformed: 0.1, retryAfterSeconds: 0.3 },
    script: moderationScript
  },
  // short backoffs keep the demo brisk; the server's Retry-After still wins when longer
  retry: { baseDelay: "200 millis", maxRetries: 4 }
})

// Retries and failures from core's events, one line each (worded by the telemetry package's
// EventLog): transport retries (lm.retry), replies that did not parse and were asked again
// (parse.failure, parse.retry), calls that failed for good (lm.error). `EventLog.layer` writes
// the same events as structured log lines instead.
const shown: ReadonlySet<string> = new Set(["lm.retry", "parse.failure", "parse.retry", "lm.error"])
const content = EventLog.contentRenderer({ maxContentLength: 120 })
const EventsLog = Layer.scopedDiscard(EventBus.on("*", (event) =>
  shown.has(event.type) ? Console.log(`    event: ${EventLog.describe(event, content).message}`) : Effect.void))

const serverLayer = (port: number) => NodeHttpServer.layer(createServer, { port, host: "127.0.0.1" })

const baseUrl = Effect.map(HttpServer.HttpServer, (server) =>
  server.address._tag === "TcpAddress" ? `http://127.0.0.1:${server.address.port}` : "http://127.0.0.1")

/** A few requests a client might send, good and bad. */
const requests: ReadonlyArray<readonly [string, (url: string) => HttpClientRequest.HttpClientRequest]> = [
  ["a friendly comment", (url) => HttpClientRequest.bodyUnsafeJson(HttpClientRequest.post(url), { text: "Love this café, the flat white is perfect." })],
  ["an insult in a chat", (url) => HttpClientRequest.bodyUnsafeJson(HttpClientRequest.post(url), { text: "Shut up, you moron.", surface: "chat" })],
  ["spam", (url) => HttpClientRequest.bodyUnsafeJson(HttpClientRequest.post(url), { text: "Click here for free money!!!" })],
  ["malformed JSON", (url) => HttpClientRequest.bodyText(HttpClientRequest.post(url), "{\"text\": ", "application/json")],
  ["an empty text", (url) => HttpClientRequest.bodyUnsafeJson(HttpClientRequest.post(url), { text: "   " })],
  ["an unknown surface", (url) => HttpClientRequest.bodyUnsafeJson(HttpClientRequest.post(url), { text: "hi", surface: "email" })]
]

const httpDemo = Effect.gen(function*() {
  const base = yield* baseUrl
  const client = yield* HttpClient.HttpClient
  yield* Console.log(`HTTP: POST ${base}/moderate`)
  for (const [label, make] of requests) {
    const response = yield* client.execute(make(`${base}/moderate`))
    yield* Console.log(`  ${label}: ${response.status} ${yield* response.text}`)
  }
})

const jobDemo = Effect.gen(function*() {
  const workers = 4
  yield* Console.log(`Background job: ${backlog.length} posts through a queue, ${workers} worker fibers`)
  const job = yield* Job.start({ workers, capacity: 8 })
  const pending = yield* Effect.forEach(backlog, job.submit)
  const outcomes = yield* Effect.forEach(pending, (done) =>
    Effect.tap(Deferred.await(done), (outcome) =>
      Console.log(
        outcome._tag === "Decided"
          ? `  ${outcome.item.id} (worker ${outcome.worker}): ${outcome.decision.action}, ` +
            `${outcome.decision.severity} [${outcome.decision.categories.join(", ")}]`
          : `  ${outcome.item.id} (worker ${outcome.worker}): FAILED ${outcome.error}: ${outcome.message}`
      )))
  const byAction = Arr.groupBy(outcomes, (o) => o._tag === "Decided" ? o.decision.action : "failed")
  const summary = Object.entries(byAction).map(([action, items]) => `${items.length} ${action}`).join(", ")
  yield* Console.log(`  ${summary}; at most ${yield* job.peakBusy} posts in flight (${workers} workers)`)
})

const retries = Effect.gen(function*() {
  const counts = { lm: 0, parse: 0 }
  yield* EventBus.on("*.retry", (event) =>
    Effect.sync(() => {
      if (event.type === "lm.retry") counts.lm++
      else counts.parse++
    }))
  return counts
})

const demo = Effect.gen(function*() {
  const counts = yield* retries
  yield* httpDemo
  yield* jobDemo
  // let the subscribers drain what is buffered before reporting
  yield* Effect.sleep("50 millis")
  yield* Console.log(`Retries seen on the event bus: ${counts.lm} transport (lm.retry), ${counts.parse} re-asks (parse.retry)`)
}).pipe(
  Effect.scoped,
  Effect.provide(Http.layer().pipe(Layer.provideMerge(serverLayer(0)))),
  Effect.provide(FetchHttpClient.layer)
)

const serve = Layer.unwrapEffect(Effect.gen(function*() {
  const port = yield* Config.integer("PORT").pipe(Config.withDefault(3000))
  return Http.layer().pipe(
    Layer.tap((context) =>
      Effect.gen(function*() {
        const base = yield* Effect.provide(baseUrl, context.pipe(Context.pick(HttpServer.HttpServer)))
        yield* Console.log(`Listening on ${base}; try:\n  curl -s ${base}/moderate -H 'content-type: application/json' -d '{"text":"Shut up, loser"}'`)
      })),
    Layer.provideMerge(serverLayer(port))
  )
}))

const program: Effect.Effect<void, unknown, LanguageModel.LanguageModel | EventBus.EventBus> = process.argv[2] === "serve"
  ? Layer.launch(serve)
  : demo

program.pipe(
  Effect.provide(EventsLog),
  Effect.provide(EventBus.layer),
  Effect.provide(Model),
  NodeRuntime.runMain
)
