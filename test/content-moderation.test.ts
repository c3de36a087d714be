/**
 * The content-moderation example in-process: its HTTP endpoint over loopback (typed decisions,
 * JSON 4xx errors) and its background job (every item gets an outcome, the pool is bounded),
 * on the simulator with injected faults whose retries show up on the event bus.
 */
import { type DspyEvent, EventBus } from "@effect-dspy/core"
import { Lm } from "@effect-dspy/providers"
import { SimulatorProvider } from "@effect-dspy/simulator"
import * as HttpServer from "@effect/platform/HttpServer"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { assert, describe, it } from "@effect/vitest"
import { Context, Deferred, Effect, Fiber, Layer, TestClock } from "effect"
import { createServer } from "node:http"
import * as Http from "../examples/content-moderation/Http.js"
import { backlog } from "../examples/content-moderation/items.js"
import * as Job from "../examples/content-moderation/Job.js"
import { classify, moderationScript } from "../examples/content-moderation/script.js"

// A model that fails often: 429s, 5xx and unreadable replies, retried at once.
const flakyModel = (latencyMillis: number) =>
  Lm.layer("simulator/sim-1", {
    retry: { baseDelay: "1 millis", maxDelay: "5 millis", maxRetries: 10, jitter: false }
  }).pipe(Layer.provide(SimulatorProvider.layer({
    seed: 11,
    latency: { _tag: "Fixed", millis: latencyMillis },
    faults: { rateLimit: 0.25, serverError: 0.15, malformed: 0.1, retryAfterSeconds: 0 },
    script: moderationScript
  })))

/** Collects the events matching `pattern` for the scope. */
const collect = (pattern: string) =>
  Effect.gen(function*() {
    const events: Array<DspyEvent.DspyEvent> = []
    yield* EventBus.on(pattern, (event) => Effect.sync(() => events.push(event)))
    return events
  })

interface Reply {
  readonly status: number
  readonly body: Record<string, unknown>
}

const request = (url: string, init: RequestInit = {}): Effect.Effect<Reply> =>
  Effect.promise(async () => {
    const response = await fetch(url, init)
    return { status: response.status, body: (await response.json()) as Record<string, unknown> }
  })

const postJson = (url: string, body: unknown) =>
  request(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body)
  })

/** Starts the endpoint on 127.0.0.1, port 0, for the scope; returns its base URL. */
const startServer = Effect.gen(function*() {
  const context = yield* Layer.build(
    Http.layer({ maxTextLength: 200 }).pipe(
      Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
      Layer.provide(flakyModel(0))
    )
  )
  const address = Context.get(context, HttpServer.HttpServer).address
  if (address._tag !== "TcpAddress") return yield* Effect.dieMessage("expected a TCP address")
  return `http://127.0.0.1:${address.port}`
})

describe("content moderation example", () => {
  it.scopedLive("the endpoint returns the typed decision as JSON, retrying the model's faults", () =>
    Effect.gen(function*() {
      const retries = yield* collect("*.retry")
      const base = yield* startServer
      const texts = backlog.map((item) => item.text)
      for (const text of texts) {
        const reply = yield* postJson(`${base}/moderate`, { text, surface: "chat" })
        assert.strictEqual(reply.status, 200, JSON.stringify(reply.body))
        const { tokens, ...decision } = reply.body
        assert.deepStrictEqual(decision, { ...classify(text), categories: [...classify(text).categories] })
        assert.isAbove(Number(tokens), 0)
      }
      // the model failed often, yet every request got its answer: the retries are on the bus
      assert.isAbove(retries.filter((e) => e.type === "lm.retry").length, 0)
      assert.isAbove(retries.filter((e) => e.type === "parse.retry").length, 0)
    }).pipe(Effect.provide(EventBus.layer)))

  it.scopedLive("bad input gets a 4xx with a JSON error body, before any model call", () =>
    Effect.gen(function*() {
      const calls = yield* collect("lm.start")
      const base = yield* startServer
      const url = `${base}/moderate`
      const cases: ReadonlyArray<readonly [string, Effect.Effect<Reply>, number, string]> = [
        ["malformed JSON", postJson(url, "{\"text\": "), 400, "MalformedJson"],
        ["no text", postJson(url, { surface: "chat" }), 400, "InvalidBody"],
        ["blank text", postJson(url, { text: "  " }), 400, "InvalidBody"],
        ["unknown surface", postJson(url, { text: "hi", surface: "email" }), 400, "InvalidBody"],
        ["unknown field", postJson(url, { text: "hi", lang: "en" }), 400, "InvalidBody"],
        ["text too long", postJson(url, { text: "x".repeat(201) }), 400, "InvalidBody"],
        ["body too large", postJson(url, { text: "x".repeat(10_000) }), 413, "PayloadTooLarge"],
        ["not JSON", request(url, { method: "POST", headers: { "content-type": "text/plain" }, body: "hi" }), 415, "UnsupportedMediaType"],
        ["unknown route", request(`${base}/nope`), 404, "NotFound"]
      ]
      for (const [label, send, status, error] of cases) {
        const reply = yield* send
        assert.strictEqual(reply.status, status, label)
        assert.strictEqual(reply.body["error"], error, label)
        assert.isString(reply.body["message"], label)
      }
      const unknownSurface = yield* postJson(url, { text: "hi", surface: "email" })
      assert.include(String(unknownSurface.body["message"]), "surface must be one of comment, chat, profile")
      assert.strictEqual(calls.length, 0)
      assert.deepStrictEqual((yield* request(`${base}/health`)).body, { ok: true })
    }).pipe(Effect.provide(EventBus.layer)))

  it.scoped("the job gives every queued item an outcome, with at most `workers` in flight", () =>
    Effect.gen(function*() {
      const retries = yield* collect("lm.retry")
      const job = yield* Job.start({ workers: 3, capacity: 2 })
      // more items than the queue holds: submitting waits for the workers (back-pressure)
      const submitting = yield* Effect.fork(Effect.forEach([...backlog, ...backlog], job.submit))
      yield* TestClock.adjust("10 minutes")
      const pending = yield* Fiber.join(submitting)
      const outcomes = yield* Effect.forEach(pending, Deferred.await)
      assert.strictEqual(outcomes.length, backlog.length * 2)
      for (const [index, outcome] of outcomes.entries()) {
        const item = backlog[index % backlog.length]!
        assert.strictEqual(outcome.item, item)
        assert.isAtLeast(outcome.worker, 1)
        assert.isAtMost(outcome.worker, 3)
        // a reply that is unreadable twice fails the item, visibly; the others are decided
        if (outcome._tag === "Decided") {
          assert.deepStrictEqual(outcome.decision, { ...classify(item.text), categories: [...classify(item.text).categories] })
        } else {
          assert.strictEqual(outcome.error, "OutputParseError")
        }
      }
      assert.isAbove(outcomes.filter((o) => o._tag === "Decided").length, backlog.length)
      assert.strictEqual(yield* job.peakBusy, 3)
      assert.isAbove(retries.length, 0)
    }).pipe(Effect.provide(flakyModel(1000)), Effect.provide(EventBus.layer)))
})
