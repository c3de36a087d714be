/**
 * Rate-limited: the server serves 8 requests at once and answers 429 with Retry-After beyond;
 * 200 items are asked at concurrency 32. Targets: no failed item, and a wall time within 1.15x
 * of the ideal ceil(200 / 8) x latency.
 *
 *   pnpm exec tsx packages/batch/bench/rate-limited.ts
 *   LATENCY=500 RETRY_AFTER=1 ITEMS=200 CONCURRENCY=32 to change the setting
 */
import { Predict, Signature } from "@effect-dspy/core"
import { Effect } from "effect"
import { Batch } from "../src/index.js"
import { machine, model, questions, serverUrl } from "./common.js"

const qa = Predict.make(Signature.fromString("question -> answer"))
const LATENCY = Number(process.env["LATENCY"] ?? 500)
const RETRY_AFTER = Number(process.env["RETRY_AFTER"] ?? 1)
const ITEMS = Number(process.env["ITEMS"] ?? 200)
const CONCURRENCY = Number(process.env["CONCURRENCY"] ?? 32)
const SERVER_LIMIT = 8

const program = Effect.gen(function*() {
  const { counters, url } = yield* serverUrl({
    latency: { _tag: "Fixed", millis: LATENCY },
    limits: { maxConcurrent: SERVER_LIMIT },
    faults: { retryAfterSeconds: RETRY_AFTER }
  })
  const { context, limiter } = yield* model(url, { maxConcurrency: CONCURRENCY })
  const ideal = Math.ceil(ITEMS / SERVER_LIMIT) * LATENCY
  console.log(
    `rate-limited: ${ITEMS} items at concurrency ${CONCURRENCY}; server serves ${SERVER_LIMIT} at once, 429 + Retry-After ${RETRY_AFTER} s beyond; ` +
      `latency ${LATENCY} ms; ideal ${ideal} ms (${machine()})`
  )
  const { summary } = yield* Batch.run(qa, questions(ITEMS), { concurrency: CONCURRENCY, dedupe: false }).pipe(
    Effect.provide(context)
  )
  const stats = yield* limiter.stats
  const server = counters === undefined ? undefined : yield* counters
  console.log(
    `  wall ${summary.wallMillis.toFixed(0)} ms = ${(summary.wallMillis / ideal).toFixed(3)}x ideal; succeeded ${summary.succeeded}, failed ${summary.failed}`
  )
  console.log(
    `  requests ${summary.requests} (${summary.rateLimitHits} answered 429, ${summary.retries} retries); ` +
      `limit ${stats.limit} (lowest ${stats.minLimit}, ${stats.decreases} decreases, ${stats.increases} increases); peak queue ${stats.maxQueueDepth}`
  )
  if (server !== undefined) console.log(`  server: ${server.requests} requests, ${server.rateLimited} x 429, peak ${server.maxInFlight} at once`)
  const pass = summary.failed === 0 && summary.wallMillis <= ideal * 1.15
  console.log(`  target: 0 failed and wall <= 1.15x ideal -> ${pass ? "PASS" : "FAIL"}`)
})

Effect.runPromise(Effect.scoped(program)).catch((e) => {
  console.error(e)
  process.exit(1)
})
