/**
 * Under a provider's limit, against the simulator server (a child process):
 *
 * 1. requests per minute: the server admits RPM requests in any 60 s window and answers 429 with
 *    a reset beyond; the run is given the same `requestsPerMinute`. Target: at least 95% of the
 *    allowed requests per minute used (items finished per minute of wall time / RPM), no item
 *    failed.
 * 2. concurrency: the server serves 8 requests at once and answers 429 with Retry-After beyond;
 *    the run asks at concurrency 32 and learns the limit (AIMD), every retry being `Resilience`'s.
 *    Target: no item failed, wall within 1.15x of ideal (ceil(items / 8) x latency).
 *
 *   pnpm exec tsx packages/bench/src/batch/rate-limited.ts     (RPM=600 ITEMS=300 C_ITEMS=200 LATENCY=500)
 */
import { Batch } from "@effect-dspy/batch"
import { Predict, Signature } from "@effect-dspy/core"
import { Effect } from "effect"
import { startSimulator } from "../harness/measure.js"
import { machine, model, questions } from "./common.js"

const qa = Predict.make(Signature.fromString("question -> answer"))
const RPM = Number(process.env["RPM"] ?? 600)
const ITEMS = Number(process.env["ITEMS"] ?? 300)
const C_ITEMS = Number(process.env["C_ITEMS"] ?? 200)
const LATENCY = Number(process.env["LATENCY"] ?? 500)
const SERVER_LIMIT = 8
// the model's retries, for both: a 429 is retried after the server's reset
const retry = { maxRetries: 8, maxElapsed: "10 minutes" } as const

const simulator = (options: Parameters<typeof startSimulator>[0]) =>
  Effect.acquireRelease(Effect.promise(() => startSimulator(options)), (s) => Effect.sync(s.stop))

const counters = (url: string) =>
  Effect.promise(() => fetch(`${url}/_sim/counters`).then((r) => r.json() as Promise<{ requests: number; rateLimited: number; maxInFlight: number }>))

const perMinute = Effect.gen(function*() {
  const server = yield* simulator({ latency: { _tag: "Uniform", minMillis: 200, maxMillis: 600 }, limits: { requestsPerMinute: RPM }, faults: { retryAfterSeconds: 1 } })
  const { context, limiter } = yield* model(server.url, { maxConcurrency: 32, requestsPerMinute: RPM }, retry)
  console.log(`rate-limited (requests per minute): ${ITEMS} items at concurrency 32; the server admits ${RPM} requests a minute; latency 200-600 ms (${machine()})`)
  const { summary } = yield* Batch.run(qa, questions(ITEMS), { concurrency: 32, dedupe: false }).pipe(Effect.provide(context))
  const used = (summary.succeeded / (summary.wallMillis / 60_000)) / RPM
  const stats = yield* limiter.stats
  const seen = yield* counters(server.url)
  console.log(
    `  wall ${summary.wallMillis.toFixed(0)} ms; succeeded ${summary.succeeded}, failed ${summary.failed}; ` +
      `${(used * 100).toFixed(1)}% of the allowed requests per minute used; ${summary.rateLimitHits} answered 429 (server: ${seen.requests} requests, ${seen.rateLimited} x 429); peak in flight ${stats.maxInFlight}`
  )
  return { used, failed: summary.failed }
})

const concurrencyLimited = Effect.gen(function*() {
  const server = yield* simulator({ latency: { _tag: "Fixed", millis: LATENCY }, limits: { maxConcurrent: SERVER_LIMIT }, faults: { retryAfterSeconds: 1 } })
  const { context, limiter } = yield* model(server.url, { maxConcurrency: 32 }, retry)
  const ideal = Math.ceil(C_ITEMS / SERVER_LIMIT) * LATENCY
  console.log(
    `rate-limited (concurrency): ${C_ITEMS} items at concurrency 32; the server serves ${SERVER_LIMIT} at once, 429 + Retry-After 1 s beyond; latency ${LATENCY} ms; ideal ${ideal} ms`
  )
  const { summary } = yield* Batch.run(qa, questions(C_ITEMS, "c-"), { concurrency: 32, dedupe: false }).pipe(Effect.provide(context))
  const stats = yield* limiter.stats
  const seen = yield* counters(server.url)
  console.log(
    `  wall ${summary.wallMillis.toFixed(0)} ms = ${(summary.wallMillis / ideal).toFixed(3)}x ideal; succeeded ${summary.succeeded}, failed ${summary.failed}; ` +
      `requests ${summary.requests} (${summary.rateLimitHits} answered 429, ${summary.retries} retries); limit ${stats.limit} (lowest ${stats.minLimit}); ` +
      `server: ${seen.requests} requests, ${seen.rateLimited} x 429, peak ${seen.maxInFlight} at once`
  )
  return { vsIdeal: summary.wallMillis / ideal, failed: summary.failed }
})

const program = Effect.gen(function*() {
  const a = yield* Effect.scoped(perMinute)
  const b = yield* Effect.scoped(concurrencyLimited)
  console.log(`  target: >= 95% of the allowed requests per minute, no item failed -> ${a.used >= 0.95 && a.failed === 0 ? "PASS" : "FAIL"}`)
  console.log(`  target (concurrency): no item failed, wall <= 1.15x ideal -> ${b.failed === 0 && b.vsIdeal <= 1.15 ? "PASS" : "FAIL"}`)
})

Effect.runPromise(program).then(
  () => process.exit(0),
  (e) => {
    console.error(e)
    process.exit(1)
  }
)
