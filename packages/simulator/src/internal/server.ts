/**
 * The HTTP side: one handler shared by the three wire formats (auth, the
 * admission gate, body parsing, pacing, accounting) and the router.
 */
import * as Cookies from "@effect/platform/Cookies"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Scope from "effect/Scope"
import type * as Http from "node:http"
import { Readable } from "node:stream"
import * as Anthropic from "./anthropicWire"
import type { Admission, Engine, Ticket } from "./engine"
import * as OpenAi from "./openaiWire"
import * as Pacer from "./pacer"
import * as Responses from "./responsesWire"
import { sleepUntil } from "./sleepUntil"
import { Invalid, type SsePlan, type Wire } from "./wire"

type Headers = Readonly<Record<string, string | undefined>>

const jsonResponse = (status: number, body: unknown, headers?: Record<string, string>) =>
  HttpServerResponse.text(JSON.stringify(body), {
    status,
    contentType: "application/json",
    ...(headers === undefined ? {} : { headers })
  })

const rateLimitHeaders = (wire: Wire<unknown>, retryAfterMillis: number, nowMillis: number): Record<string, string> => {
  const seconds = Math.ceil(retryAfterMillis / 1000)
  const common = { "retry-after": String(seconds), "retry-after-ms": String(retryAfterMillis) }
  return wire.route === "messages"
    ? {
      ...common,
      "anthropic-ratelimit-requests-remaining": "0",
      "anthropic-ratelimit-requests-reset": new Date(nowMillis + retryAfterMillis).toISOString()
    }
    : { ...common, "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": `${seconds}s` }
}

const rateLimitMessage = (reason: "fault" | "concurrency" | "rpm", engine: Engine, retryAfterMillis: number): string => {
  const wait = `${Math.ceil(retryAfterMillis / 1000)}s`
  switch (reason) {
    case "concurrency":
      return `Too many concurrent requests: limit ${engine.options.limits.maxConcurrent}. Please try again in ${wait}.`
    case "rpm":
      return `Rate limit reached for ${engine.options.model} on requests per min (RPM): Limit ${engine.options.limits.requestsPerMinute}. Please try again in ${wait}.`
    case "fault":
      return `Rate limit reached for ${engine.options.model}. Please try again in ${wait}.`
  }
}

const serverErrorMessage = (wire: Wire<unknown>, status: number): string =>
  wire.route === "messages"
    ? status === 503 ? "Overloaded" : "Internal server error"
    : status === 503
    ? "The engine is currently overloaded, please try again later."
    : "The server had an error while processing your request. Sorry about that!"

const badJsonMessage = (wire: Wire<unknown>): string =>
  wire.route === "messages"
    ? "There was an error parsing the body of your request. Please make sure the body is valid JSON."
    : "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)"

const SSE_HEADERS = { "cache-control": "no-cache" }

/** What the handler learns from a streamed body. */
interface StreamState {
  truncated: boolean
  delivered: boolean
}

/**
 * A streamed reply, paced by the engine's timing and cut short when the
 * ticket says truncate. Unpaced replies go out as one body; paced ones through
 * a plain Readable fed by the router's shared pacer (one tick for all streams,
 * each tick one write per stream of every frame then due).
 */
const streamResponse = (
  engine: Engine,
  pacer: Pacer.Pacer,
  arrivalNanos: bigint,
  ticket: Ticket,
  plan: SsePlan,
  state: StreamState
): Effect.Effect<HttpServerResponse.HttpServerResponse, never, Scope.Scope> => {
  let count = plan.count
  if (ticket.truncate) {
    count = count === 0 ? 0 : Math.max(1, Math.min(count - 1, Math.floor(ticket.truncateAt * count)))
    state.truncated = true
  }
  const first = engine.firstTokenMillis(ticket)
  const per = engine.perTokenMillis
  if (first <= 0 && per <= 0) {
    let text = plan.head
    for (let i = 0; i < count; i++) text += plan.frame(i)
    if (!state.truncated) text += plan.tail()
    state.delivered = true
    return Effect.succeed(HttpServerResponse.text(text, { contentType: "text/event-stream", headers: SSE_HEADERS }))
  }
  const readable = new Readable({ read() {} })
  readable.push(plan.head)
  return Effect.as(
    Effect.flatMap(Clock.currentTimeNanos, (now) =>
      pacer.add({
        // due times count from the request's arrival, like a non-streamed answer's
        elapsed: Number(now - arrivalNanos) / 1e6,
        readable,
        plan,
        count,
        first: Math.max(0, first),
        per: Math.max(0, per),
        withTail: !state.truncated,
        onDone: () => (state.delivered = true)
      })),
    HttpServerResponse.raw(readable, { contentType: "text/event-stream", headers: SSE_HEADERS })
  )
}

/**
 * Writes a rendered response straight to Node's response object, as the platform's server
 * would (the same status, headers and bytes; it then skips a response already ended): so that
 * replies due at the same instant go out then, one syscall each, instead of one fiber step and
 * one pass through the server's response handling each, one after the other.
 */
const writeNow = (nodeResponse: Http.ServerResponse, response: HttpServerResponse.HttpServerResponse): void => {
  if (nodeResponse.writableEnded || response.body._tag !== "Uint8Array" || !Cookies.isEmpty(response.cookies)) return
  nodeResponse.writeHead(response.status, response.headers)
  nodeResponse.end(response.body.body)
}

/**
 * When a request arrived (its headers in), on Effect's clock, as stamped by the server's
 * first `request` listener; `undefined` for a request it did not see.
 */
export type ArrivalOf = (request: Http.IncomingMessage) => bigint | undefined

/** The handler of one API route. */
const apiHandler = <Echo>(
  engine: Engine,
  pacer: Pacer.Pacer,
  arrivalOf: ArrivalOf,
  wire: Wire<Echo>,
  path: string
): Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.HttpServerRequest | Scope.Scope> =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    // The request's latency runs from its arrival (headers in, stamped before the HTTP app
    // runs: see SimulatorServer), not from after the body is read, parsed and answered: like
    // a real provider's, that work happens inside the latency, not on top of it.
    const arrivalNanos = arrivalOf(NodeHttpServerRequest.toIncomingMessage(request)) ?? (yield* Clock.currentTimeNanos)
    const headers = request.headers as Headers
    engine.countRequest(path)
    const apiKey = engine.options.apiKey
    if (apiKey !== undefined && !wire.authorized(headers, apiKey)) {
      engine.countUnauthorized()
      return jsonResponse(401, wire.errorBody(401, wire.unauthorizedMessage(headers), null, "invalid_api_key"))
    }
    const now = yield* Clock.currentTimeMillis
    const state: StreamState = { truncated: false, delivered: false }
    // Admission and the release finalizer happen together: no interruption in between.
    // The request scope closes after the response is written or abandoned; the
    // server turns a client abort into a successful exit, so whether the answer
    // was handed over in full is tracked in `state`.
    const admission = yield* Effect.uninterruptible(Effect.suspend((): Effect.Effect<Admission, never, Scope.Scope> => {
      const a = engine.admit(now)
      if (a._tag !== "Admitted") return Effect.succeed(a)
      return Effect.as(
        Effect.addFinalizer((exit) =>
          Effect.sync(() =>
            engine.release(
              a.ticket,
              state.delivered
                ? (state.truncated ? "truncated" : "completed")
                : Exit.isFailure(exit) && !Exit.isInterrupted(exit)
                ? "failed"
                : "aborted"
            )
          )
        ),
        a
      )
    }))
    switch (admission._tag) {
      case "RateLimited": {
        const ms = admission.retryAfterMillis
        return jsonResponse(
          429,
          wire.errorBody(429, rateLimitMessage(admission.reason, engine, ms), null, "rate_limit_exceeded"),
          rateLimitHeaders(wire as Wire<unknown>, ms, now)
        )
      }
      case "ServerError":
        return jsonResponse(admission.status, wire.errorBody(admission.status, serverErrorMessage(wire as Wire<unknown>, admission.status)))
      case "Reset": {
        // destroying the socket makes the server interrupt this fiber
        NodeHttpServerRequest.toIncomingMessage(request).socket.destroy()
        return yield* Effect.never
      }
      case "Admitted":
        break
    }
    const ticket = admission.ticket
    const bad = (status: number, message: string, param: string | null = null, code: string | null = null) => {
      engine.countBadRequest()
      engine.release(ticket, "failed")
      return jsonResponse(status, wire.errorBody(status, message, param, code))
    }

    const text = yield* Effect.either(request.text)
    if (text._tag === "Left") return bad(400, "Could not read the request body.")
    let body: unknown
    try {
      body = JSON.parse(text.right)
    } catch {
      return bad(400, badJsonMessage(wire as Wire<unknown>))
    }
    let parsed: ReturnType<typeof wire.parse>
    try {
      parsed = wire.parse(body, headers)
    } catch (e) {
      if (e instanceof Invalid) return bad(400, e.bad.message, e.bad.param, e.bad.code)
      throw e
    }

    const outcome = engine.answer(parsed.request, ticket)
    if (outcome._tag === "Fail") {
      engine.release(ticket, "failed")
      return jsonResponse(outcome.status, wire.errorBody(outcome.status, outcome.message))
    }
    const reply = outcome.reply
    const ctx = { model: engine.options.model, created: Math.floor(now / 1000) }
    if (!parsed.stream) {
      // rendered before the wait, and written the moment it is due
      const response = jsonResponse(200, wire.render(parsed, reply, ctx))
      const nodeResponse = NodeHttpServerRequest.toServerResponse(request)
      yield* sleepUntil(
        arrivalNanos + BigInt(Math.round(engine.totalMillis(ticket, reply.outputTokens) * 1e6)),
        () => writeNow(nodeResponse, response)
      )
      state.delivered = true
      return response
    }
    return yield* streamResponse(engine, pacer, arrivalNanos, ticket, wire.plan(parsed, reply, ctx), state)
  })

const notFound = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const path = request.url.split("?")[0] ?? request.url
  const message = `Invalid URL (${request.method} ${path})`
  return request.headers["anthropic-version"] !== undefined
    ? jsonResponse(404, Anthropic.errorBody(404, `Not found: ${request.method} ${path}`))
    : jsonResponse(404, { error: { message, type: "invalid_request_error", param: null, code: null } })
})

/** The simulator's routes. */
export const router = (engine: Engine, arrivalOf: ArrivalOf) => {
  const pacer = Pacer.make()
  return HttpRouter.empty.pipe(
    HttpRouter.post("/v1/chat/completions", apiHandler(engine, pacer, arrivalOf, OpenAi.wire, "/v1/chat/completions")),
    HttpRouter.post("/v1/responses", apiHandler(engine, pacer, arrivalOf, Responses.wire, "/v1/responses")),
    HttpRouter.post("/v1/messages", apiHandler(engine, pacer, arrivalOf, Anthropic.wire, "/v1/messages")),
    HttpRouter.get(
      "/v1/models",
      Effect.sync(() =>
        jsonResponse(200, {
          object: "list",
          data: [{ id: engine.options.model, object: "model", created: 0, owned_by: "effect-dspy-simulator" }]
        })
      )
    ),
    HttpRouter.get("/_sim/counters", Effect.sync(() => jsonResponse(200, engine.counters()))),
    HttpRouter.post(
      "/_sim/reset",
      Effect.sync(() => {
        engine.reset()
        return jsonResponse(200, { reset: true })
      })
    ),
    HttpRouter.all("*", notFound)
  )
}
