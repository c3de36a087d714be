/**
 * The server's routes on `@effect/platform`'s router: the three APIs, the model list, the
 * counters and their reset, and a 404 in each API's error format.
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Effect from "effect/Effect"
import type { Engine } from "../engine/Engine.js"
import * as ChatCompletions from "../wire/chatCompletions/format.js"
import { errorBody as anthropicErrorBody } from "../wire/messages/errors.js"
import * as Messages from "../wire/messages/format.js"
import * as Responses from "../wire/responses/format.js"
import { apiRoute, jsonResponse } from "./apiRoute.js"
import type { Pacer } from "./pacer.js"

const notFound = Effect.map(HttpServerRequest.HttpServerRequest, (request) => {
  const path = request.url.split("?")[0] ?? request.url
  return request.headers["anthropic-version"] !== undefined
    ? jsonResponse(404, anthropicErrorBody(404, `Not found: ${request.method} ${path}`))
    : jsonResponse(404, {
      error: { message: `Invalid URL (${request.method} ${path})`, type: "invalid_request_error", param: null, code: null }
    })
})

/** Every route of the server. */
export const router = (engine: Engine, pacer: Pacer) =>
  HttpRouter.empty.pipe(
    HttpRouter.post("/v1/chat/completions", apiRoute(engine, pacer, ChatCompletions.format, "/v1/chat/completions")),
    HttpRouter.post("/v1/responses", apiRoute(engine, pacer, Responses.format, "/v1/responses")),
    HttpRouter.post("/v1/messages", apiRoute(engine, pacer, Messages.format, "/v1/messages")),
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
