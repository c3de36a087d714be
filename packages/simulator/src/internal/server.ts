/**
 * The HTTP side: one handler shared by the three wire formats (auth, the
 * admission gate, body parsing, pacing, accounting) and the router of the other routes.
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Http from "node:http"
import { Readable } from "node:stream"
import * as Anthropic from "./anthropicWire.js"
import type { Engine, Ending, Ticket } from "./engine.js"
import * as OpenAi from "./openaiWire.js"
import * as Pacer from "./pacer.js"
import * as Responses from "./responsesWire.js"
import { type Poller, sleepUntil } from "./sleepUntil.js"
import { Invalid, type SsePlan, type Wire } from "./wire.js"

type Headers = Readonly<Record<string, string | undefined>>

const jsonResponse = (status: number, body: unknown) =>
  HttpServerResponse.text(JSON.stringify(body), { status, contentType: "application/json" })

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

const NO_CACHE = { "cache-control": "no-cache" }
const SSE_HEADERS = { "content-type": "text/event-stream", ...NO_CACHE }

/** Writes a whole reply with its length (as the platform's server did for a text body). */
const sendText = (response: Http.ServerResponse, status: number, contentType: string, text: string, headers?: Record<string, string>): void => {
  const fixed = { "content-type": contentType, "content-length": String(Buffer.byteLength(text)) }
  response.writeHead(status, headers === undefined ? fixed : { ...fixed, ...headers })
  response.end(text)
}

/** Bodies larger than this are refused (413), as the platform's server did with its default limit. */
const MAX_BODY_BYTES = 10 * 1024 * 1024

/** Writes a JSON reply at once (unless the client is gone or something was written already). */
const sendJson = (response: Http.ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void => {
  if (response.headersSent || response.destroyed) return
  sendText(response, status, "application/json", JSON.stringify(body), headers)
}

/** The request body as text; `TooLarge` past `MAX_BODY_BYTES`, `Unreadable` when the stream fails. */
const readBody = (request: Http.IncomingMessage): Effect.Effect<string | "TooLarge" | "Unreadable"> =>
  Effect.async((resume) => {
    const chunks: Array<Buffer> = []
    let size = 0
    const cleanup = () => {
      request.off("data", onData)
      request.off("end", onEnd)
      request.off("error", onError)
    }
    const finish = (result: string | "TooLarge" | "Unreadable") => {
      cleanup()
      resume(Effect.succeed(result))
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_BODY_BYTES) {
        // the rest is drained and dropped, so that the 413 can still be read by the client
        request.resume()
        finish("TooLarge")
      } else chunks.push(chunk)
    }
    const onEnd = () => finish(chunks.length === 1 ? chunks[0]!.toString("utf8") : Buffer.concat(chunks, size).toString("utf8"))
    const onError = () => finish("Unreadable")
    request.on("data", onData)
    request.on("end", onEnd)
    request.on("error", onError)
    return Effect.sync(cleanup)
  })

/** Waits until the response is written out or its connection is gone. */
const responseDone = (response: Http.ServerResponse): Effect.Effect<void> =>
  Effect.async((resume) => {
    if (response.writableFinished || response.destroyed) return resume(Effect.void)
    const done = () => {
      response.off("finish", done)
      response.off("close", done)
      resume(Effect.void)
    }
    response.on("finish", done)
    response.on("close", done)
    return Effect.sync(() => {
      response.off("finish", done)
      response.off("close", done)
    })
  })

/** What the handler learns from a streamed body. */
interface StreamState {
  truncated: boolean
  delivered: boolean
  /** Answered with an error (a bad request, a scripted failure): the request failed, the client did not leave. */
  failed: boolean
}

/**
 * A streamed reply, paced by the engine's timing and cut short when the ticket says truncate.
 * Unpaced replies go out as one body; paced ones through a plain Readable fed by the shared
 * pacer (one tick for all streams, each tick one write per stream of every frame then due).
 * Returns when the reply is written out or the client is gone.
 */
const streamResponse = (
  engine: Engine,
  pacer: Pacer.Pacer,
  response: Http.ServerResponse,
  arrivalNanos: bigint,
  ticket: Ticket,
  plan: SsePlan,
  state: StreamState
): Effect.Effect<void> => {
  let count = plan.count
  if (ticket.truncate) {
    count = count === 0 ? 0 : Math.max(1, Math.min(count - 1, Math.floor(ticket.truncateAt * count)))
    state.truncated = true
  }
  const first = engine.firstTokenMillis(ticket)
  const per = engine.perTokenMillis
  if (response.destroyed) return Effect.void
  if (first <= 0 && per <= 0) {
    let text = plan.head
    for (let i = 0; i < count; i++) text += plan.frame(i)
    if (!state.truncated) text += plan.tail()
    state.delivered = true
    sendText(response, 200, "text/event-stream", text, NO_CACHE)
    return Effect.void
  }
  response.writeHead(200, SSE_HEADERS)
  const readable = new Readable({ read() {} })
  readable.push(plan.head)
  readable.pipe(response)
  return Effect.scoped(
    Effect.flatMap(Clock.currentTimeNanos, (now) =>
      Effect.zipRight(
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
        }),
        Effect.ensuring(responseDone(response), Effect.sync(() => readable.destroy()))
      ))
  )
}

/** How an admitted request ended, from what was delivered and how its handling exited. */
const ending = (state: StreamState, exit: Exit.Exit<unknown, unknown>): Ending =>
  state.delivered
    ? (state.truncated ? "truncated" : "completed")
    : state.failed || (Exit.isFailure(exit) && !Exit.isInterrupted(exit))
    ? "failed"
    : "aborted"

/**
 * Serves one API request on Node's request and response directly. The handler takes its
 * request's arrival (stamped when Node read its headers): the latency runs from there, not from
 * after the body is read, parsed and answered, as a real provider's work happens inside its
 * latency, not on top of it.
 */
type ApiHandler = (request: Http.IncomingMessage, response: Http.ServerResponse, arrivalNanos: bigint) => Effect.Effect<void>

const apiHandler = <Echo>(engine: Engine, pacer: Pacer.Pacer, poller: Poller, wire: Wire<Echo>, path: string): ApiHandler =>
(request, response, arrivalNanos) =>
  Effect.onExit(
    serveRequest(engine, pacer, poller, wire, path, request, response, arrivalNanos),
    // a defect still answers the request: a 500 if nothing was sent yet, else the connection is cut
    (exit) =>
      Exit.isFailure(exit) && !Exit.isInterrupted(exit)
        ? Effect.zipRight(
          Effect.logError("simulator: answering a request failed", exit.cause),
          Effect.sync(() => {
            if (response.headersSent) response.destroy()
            else sendJson(response, 500, wire.errorBody(500, serverErrorMessage(wire as Wire<unknown>, 500)))
          })
        )
        : Effect.void
  )

const serveRequest = <Echo>(
  engine: Engine,
  pacer: Pacer.Pacer,
  poller: Poller,
  wire: Wire<Echo>,
  path: string,
  request: Http.IncomingMessage,
  response: Http.ServerResponse,
  arrivalNanos: bigint
): Effect.Effect<void> =>
  Effect.suspend(() => {
    const headers = request.headers as Headers
    engine.countRequest(path)
    const apiKey = engine.options.apiKey
    if (apiKey !== undefined && !wire.authorized(headers, apiKey)) {
      engine.countUnauthorized()
      sendJson(response, 401, wire.errorBody(401, wire.unauthorizedMessage(headers), null, "invalid_api_key"))
      return Effect.void
    }
    // Admission and the release on exit happen together: no interruption in between.
    return Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const admission = engine.admit(now)
        switch (admission._tag) {
          case "RateLimited": {
            const ms = admission.retryAfterMillis
            sendJson(
              response,
              429,
              wire.errorBody(429, rateLimitMessage(admission.reason, engine, ms), null, "rate_limit_exceeded"),
              rateLimitHeaders(wire as Wire<unknown>, ms, now)
            )
            return Effect.void
          }
          case "ServerError":
            sendJson(response, admission.status, wire.errorBody(admission.status, serverErrorMessage(wire as Wire<unknown>, admission.status)))
            return Effect.void
          case "Reset":
            request.socket.destroy()
            return Effect.void
          case "Admitted":
            break
        }
        const ticket = admission.ticket
        const state: StreamState = { truncated: false, delivered: false, failed: false }
        // Admitted: whatever happens next (an answer, a bad request, the client going away,
        // a defect), the ticket is released once, with how it ended.
        return Effect.onExit(
          restore(admitted(engine, pacer, poller, wire, request, response, arrivalNanos, now, ticket, state)),
          (exit) => Effect.sync(() => engine.release(ticket, ending(state, exit)))
        )
      }))
  })

/** The rest of an admitted request: body, parsing, the answer and its delivery. */
const admitted = <Echo>(
  engine: Engine,
  pacer: Pacer.Pacer,
  poller: Poller,
  wire: Wire<Echo>,
  request: Http.IncomingMessage,
  response: Http.ServerResponse,
  arrivalNanos: bigint,
  now: number,
  ticket: Ticket,
  state: StreamState
): Effect.Effect<void> =>
  Effect.flatMap(readBody(request), (text) => {
    const bad = (status: number, message: string, param: string | null = null, code: string | null = null) => {
      // a client already gone (its body unreadable because it left) aborted; it sent nothing bad
      if (response.destroyed) return Effect.void
      engine.countBadRequest()
      state.failed = true
      sendJson(response, status, wire.errorBody(status, message, param, code))
      return Effect.void
    }
    if (text === "TooLarge") return bad(413, `The request body is larger than ${MAX_BODY_BYTES / 1024 / 1024} MiB.`)
    if (text === "Unreadable") return bad(400, "Could not read the request body.")
    let body: unknown
    try {
      body = JSON.parse(text)
    } catch {
      return bad(400, badJsonMessage(wire as Wire<unknown>))
    }
    let parsed: ReturnType<typeof wire.parse>
    try {
      parsed = wire.parse(body, request.headers as Headers)
    } catch (e) {
      if (e instanceof Invalid) return bad(400, e.bad.message, e.bad.param, e.bad.code)
      throw e
    }
    const outcome = engine.answer(parsed.request, ticket)
    if (outcome._tag === "Fail") {
      state.failed = !response.destroyed
      sendJson(response, outcome.status, wire.errorBody(outcome.status, outcome.message))
      return Effect.void
    }
    const reply = outcome.reply
    const ctx = { model: engine.options.model, created: Math.floor(now / 1000) }
    if (parsed.stream) return streamResponse(engine, pacer, response, arrivalNanos, ticket, wire.plan(parsed, reply, ctx), state)
    // rendered before the wait, and written the moment it is due
    const rendered = JSON.stringify(wire.render(parsed, reply, ctx))
    return sleepUntil(
      arrivalNanos + BigInt(Math.round(engine.totalMillis(ticket, reply.outputTokens) * 1e6)),
      () => {
        if (response.destroyed) return
        sendText(response, 200, "application/json", rendered)
        state.delivered = true
      },
      poller
    )
  })

/**
 * The simulator's API routes (`POST` chat completions, responses, messages), by path. They are
 * served on Node's request and response directly, one fiber each, rather than through the
 * platform's router and response pipeline, which cost the server ~425 µs of CPU per request
 * against ~170-190 served directly and ~85-90 for a bare Node handler
 * (`pnpm exec tsx packages/simulator/bench/server-cpu.ts`); on one core that cost made a round of
 * concurrent requests' arrivals stamped late and their replies written late, which a benchmark
 * then charges to the client. The platform's server still listens and serves the
 * other routes (`router`).
 */
export const apiRoutes = (engine: Engine, poller: Poller): ReadonlyMap<string, ApiHandler> => {
  const pacer = Pacer.make()
  return new Map([
    ["/v1/chat/completions", apiHandler(engine, pacer, poller, OpenAi.wire, "/v1/chat/completions")],
    ["/v1/responses", apiHandler(engine, pacer, poller, Responses.wire, "/v1/responses")],
    ["/v1/messages", apiHandler(engine, pacer, poller, Anthropic.wire, "/v1/messages")]
  ])
}

const notFound = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const path = request.url.split("?")[0] ?? request.url
  const message = `Invalid URL (${request.method} ${path})`
  return request.headers["anthropic-version"] !== undefined
    ? jsonResponse(404, Anthropic.errorBody(404, `Not found: ${request.method} ${path}`))
    : jsonResponse(404, { error: { message, type: "invalid_request_error", param: null, code: null } })
})

/** The simulator's other routes (models, counters, reset, not found), on the platform's router. */
export const router = (engine: Engine) =>
  HttpRouter.empty.pipe(
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
