/**
 * The analyzer behind an HTTP endpoint:
 *
 * - `POST /moderate` with `{"text", "surface"?}` → `200 {"categories","severity","action","rationale","tokens"}`
 * - bad input → a 4xx with a JSON body `{"error","message"}`: 415 (not JSON), 413 (too large),
 *   400 (`MalformedJson`, `InvalidBody`); a model that still fails after its retries → 502
 * - `GET /health` → `{"ok":true}`; anything else → 404 JSON
 *
 * The model comes from the context, so the same handler runs on the simulator, a real provider
 * or a test model; each request runs in its own fiber, interrupted if the client goes away.
 */
import type * as LanguageModel from "@effect/ai/LanguageModel"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Effect, Either, Layer, Option, ParseResult, Schema } from "effect"
import { moderate, Surface } from "./Moderation.js"

/** Options of the endpoint. */
export interface Options {
  /** Longest accepted text, in characters (default 5000). */
  readonly maxTextLength?: number | undefined
}

const jsonError = (status: number, error: string, message: string) =>
  HttpServerResponse.unsafeJson({ error, message }, { status })

const bodySchema = (maxTextLength: number) =>
  Schema.Struct({
    text: Schema.String.pipe(
      Schema.filter((s) => s.trim().length > 0, { message: () => "text must not be empty" }),
      Schema.maxLength(maxTextLength, { message: () => `text must be at most ${maxTextLength} characters` })
    ),
    surface: Schema.optionalWith(
      Surface.annotations({ message: () => ({ message: `surface must be one of ${Surface.literals.join(", ")}`, override: true }) }),
      { exact: true, default: () => "comment" as const }
    )
  })

// Errors from the module are tagged (core's `DspyError`s, `@effect/ai`'s `AiError`s).
const describe = (error: unknown): string =>
  typeof error === "object" && error !== null && "message" in error && typeof error.message === "string"
    ? error.message
    : String(error)

const moderateRoute = (options: Options) => {
  const maxTextLength = options.maxTextLength ?? 5000
  const decode = Schema.decodeUnknownEither(bodySchema(maxTextLength), { onExcessProperty: "error" })
  // JSON escaping can at most sextuple a text (\u00XX); anything beyond is refused unread.
  const maxBodyBytes = maxTextLength * 6 + 1024
  return Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    if (!(request.headers["content-type"] ?? "").toLowerCase().startsWith("application/json")) {
      return jsonError(415, "UnsupportedMediaType", "send {\"text\": \"...\"} with content-type: application/json")
    }
    if (Number(request.headers["content-length"] ?? "0") > maxBodyBytes) {
      return jsonError(413, "PayloadTooLarge", `the body is larger than ${maxBodyBytes} bytes`)
    }
    const raw = yield* Effect.either(request.text.pipe(HttpServerRequest.withMaxBodySize(Option.some(maxBodyBytes))))
    if (Either.isLeft(raw)) return jsonError(413, "PayloadTooLarge", `the body is larger than ${maxBodyBytes} bytes`)
    const json = Either.try(() => JSON.parse(raw.right) as unknown)
    if (Either.isLeft(json)) return jsonError(400, "MalformedJson", "the body is not valid JSON")
    const body = decode(json.right)
    if (Either.isLeft(body)) {
      const issues = ParseResult.ArrayFormatter.formatErrorSync(body.left)
      return jsonError(400, "InvalidBody", issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; "))
    }
    const prediction = yield* Effect.either(moderate(body.right))
    if (Either.isLeft(prediction)) {
      const error = prediction.left
      return jsonError(502, error._tag, `the model could not moderate the text: ${describe(error)}`)
    }
    const { output, usage } = prediction.right
    return HttpServerResponse.unsafeJson({ ...output, tokens: usage.totalTokens })
  })
}

/** The routes; the model comes from the context. */
export const router = (options: Options = {}): HttpRouter.HttpRouter<never, LanguageModel.LanguageModel> =>
  HttpRouter.empty.pipe(
    HttpRouter.post("/moderate", moderateRoute(options)),
    HttpRouter.get("/health", Effect.succeed(HttpServerResponse.unsafeJson({ ok: true }))),
    HttpRouter.all(
      "*",
      Effect.map(HttpServerRequest.HttpServerRequest, (request) =>
        jsonError(404, "NotFound", `no route for ${request.method} ${request.url.split("?")[0]}`))
    )
  )

/** Serves the routes on the `HttpServer` in context. */
export const layer = (options: Options = {}): Layer.Layer<never, never, HttpServer.HttpServer | LanguageModel.LanguageModel> =>
  HttpServer.serve(router(options))
