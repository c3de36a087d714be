/**
 * One API route (chat completions, Responses or Messages) on `@effect/platform`'s server: the
 * key check, the gate, the body, the answer, and the reply, whole after its latency or streamed
 * by the server's pacer. Times count from the request's arrival (its headers read), as a real
 * provider's do: reading, parsing and answering happen inside the latency, not on top of it.
 */
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import { parseJson } from "../json.js"
import { type Admission, Engine, type Ending, type Ticket } from "../engine/Engine.js"
import { events } from "../plan/events.js"
import * as Pacing from "../plan/pacing.js"
import { Invalid } from "../wire/validation.js"
import type { Pacer } from "./pacer.js"
import type { WireFormat } from "../wire/WireFormat.js"
import { badJsonMessage, rateLimitHeaders, rateLimitMessage, serverErrorMessage, serverErrorStatus } from "./messages.js"

/** Bodies larger than this are refused with 413 (the platform's default limit). */
export const MAX_BODY_BYTES = 10 * 1024 * 1024

/** A JSON reply with its length. */
export const jsonResponse = (status: number, body: unknown, headers: Record<string, string> = {}) => {
  const text = JSON.stringify(body)
  return HttpServerResponse.text(text, {
    status,
    contentType: "application/json",
    headers: { ...headers, "content-length": String(Buffer.byteLength(text)) }
  })
}

/** What the handling of an admitted request learned, for how it ended. */
interface State {
  /** The reply went out in full. */
  delivered: Ending | undefined
  /** Answered with an error (a bad request, a scripted failure): the client did not go away. */
  failed: boolean
}

const endingOf = (state: State, exit: Exit.Exit<unknown, unknown>): Ending =>
  state.delivered ??
    (state.failed || (Exit.isFailure(exit) && !Exit.isInterrupted(exit)) ? "failed" : "aborted")

/** Handles one API route of a wire format. */
export const apiRoute = <Echo>(engine: Engine, pacer: Pacer, format: WireFormat<Echo>, path: string) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const arrival = yield* Clock.currentTimeMillis
    const headers = request.headers
    engine.tally.request(path)
    const apiKey = engine.options.apiKey
    if (apiKey !== undefined && !format.authorized(headers, apiKey)) {
      engine.tally.add("unauthorized")
      return jsonResponse(401, format.errorBody(401, format.unauthorizedMessage(headers), null, "invalid_api_key"))
    }
    const state: State = { delivered: undefined, failed: false }
    // admitted and its release registered at once: no interruption in between
    const admission = yield* Effect.uninterruptible(Effect.suspend((): Effect.Effect<Admission, never, Scope.Scope> => {
      const admission = engine.admit(arrival)
      if (admission._tag !== "Admitted") return Effect.succeed(admission)
      const release = (exit: Exit.Exit<unknown, unknown>) =>
        Effect.sync(() => engine.release(admission.ticket, endingOf(state, exit)))
      return Effect.as(Effect.addFinalizer(release), admission)
    }))
    switch (admission._tag) {
      case "RateLimited": {
        const ms = admission.retryAfterMillis
        const message = rateLimitMessage(admission.reason, engine.options, ms)
        return jsonResponse(
          429,
          format.errorBody(429, message, null, "rate_limit_exceeded"),
          rateLimitHeaders(format.route, ms, arrival)
        )
      }
      case "ServerError": {
        const status = serverErrorStatus(format.route, admission.status === 503)
        return jsonResponse(status, format.errorBody(status, serverErrorMessage(format.route, status)))
      }
      case "Reset":
        NodeHttpServerRequest.toIncomingMessage(request).socket.destroy()
        return HttpServerResponse.empty({ status: 500 })
      case "Admitted":
        return yield* answer(engine, pacer, format, request, arrival, admission.ticket, state)
    }
  })

/** The rest of an admitted request: its body, the answer and the reply. */
const answer = <Echo>(
  engine: Engine,
  pacer: Pacer,
  format: WireFormat<Echo>,
  request: HttpServerRequest.HttpServerRequest,
  arrival: number,
  ticket: Ticket,
  state: State
) =>
  Effect.gen(function*() {
    const bad = (status: number, message: string, param: string | null = null, code: string | null = null) => {
      engine.tally.add("badRequests")
      state.failed = true
      return jsonResponse(status, format.errorBody(status, message, param, code))
    }
    const limit = `${MAX_BODY_BYTES / 1024 / 1024} MiB`
    if (Number(request.headers["content-length"] ?? 0) > MAX_BODY_BYTES) {
      // the rest is drained and dropped, so that the client can still read the 413
      NodeHttpServerRequest.toIncomingMessage(request).resume()
      return bad(413, `The request body is larger than ${limit}.`)
    }
    // a chunked body over the limit fails here too (the platform stops reading it)
    const text = yield* Effect.either(request.text)
    if (text._tag === "Left") return bad(400, `Could not read the request body (at most ${limit}).`)
    const body = parseJson(text.right)
    if (Option.isNone(body)) return bad(400, badJsonMessage(format.route))
    let parsed: ReturnType<typeof format.parse>
    try {
      parsed = format.parse(body.value, request.headers)
    } catch (e) {
      if (e instanceof Invalid) return bad(400, e.bad.message, e.bad.param, e.bad.code)
      throw e
    }
    const outcome = engine.answer(parsed.request, ticket, arrival)
    if (outcome._tag === "Fail") {
      state.failed = true
      return jsonResponse(outcome.status, format.errorBody(outcome.status, outcome.message))
    }
    const plan = outcome.plan
    const timing = engine.timing(ticket)
    if (!parsed.stream) {
      const whole = format.reply(parsed, plan)
      yield* Pacing.sleepUntil(arrival + Pacing.wholeMillis(timing, plan.usage.outputTokens))
      state.delivered = plan.ending._tag === "Failed" ? "inBandError" : "completed"
      return jsonResponse(whole.status, whole.body)
    }
    const encode = format.encoder(parsed, plan)
    const sse = { contentType: "text/event-stream", headers: { "cache-control": "no-cache" } }
    if (timing.firstTokenMillis <= 0 && timing.perTokenMillis <= 0) {
      // all due at once: one body
      let frames = ""
      for (const event of events(plan)) frames += encode(event)
      state.delivered = Engine.delivered(plan)
      return HttpServerResponse.text(frames, sse)
    }
    const frames = yield* pacer.stream({
      cursor: Pacing.cursor(events(plan), timing, arrival),
      encode,
      onEnd: () => {
        state.delivered = Engine.delivered(plan)
      }
    })
    return HttpServerResponse.raw(frames, sse)
  })
