/**
 * The HTTP side of `/v1/chat/completions` on `@effect/platform`'s `HttpClient`: one call, or one
 * streamed call as its Server-Sent Events (`data:` JSON chunks, then `[DONE]`). Failures are
 * `AiError`s with secrets already hidden, so no span or log below us sees a key.
 *
 * @internal
 */
import * as AiError from "@effect/ai/AiError"
import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { scrubAiError } from "../LmError.js"
import { WireReply } from "./chatWire.js"
import * as Sse from "./sse.js"

/** The end of a stream, as the server says it (`data: [DONE]`). @internal */
export const Done = "[DONE]" as const

/** @internal */
export interface ChatClient {
  readonly send: (body: unknown, headers: Readonly<Record<string, string>>) => Effect.Effect<WireReply, AiError.AiError>
  readonly stream: (
    body: unknown,
    headers: Readonly<Record<string, string>>
  ) => Stream.Stream<WireReply | typeof Done, AiError.AiError>
}

const decodeChunk = Schema.decodeUnknownEither(Schema.parseJson(WireReply))
// Sync: an `Either` is an `Effect`, without a step of its own in the fiber.
const decodeBody = Schema.decodeUnknownEither(WireReply)

const malformed = (method: string, description: string, cause?: unknown) =>
  new AiError.MalformedOutput({ module: "ChatCompletions", method, description, ...(cause === undefined ? {} : { cause }) })

/** @internal */
export const make = (options: {
  /** The chat-completions URL (no credentials in it). */
  readonly url: string
  /** Headers of every request (authorization, extra headers). */
  readonly headers: Readonly<Record<string, string>>
  /** Hides secrets in failures. */
  readonly scrub: (text: string) => string
}): Effect.Effect<ChatClient, never, HttpClient.HttpClient> =>
  Effect.map(HttpClient.HttpClient, (http) => {
    const client = HttpClient.filterStatusOk(http)
    const request = (body: unknown, headers: Readonly<Record<string, string>>, accept: string) =>
      HttpClientRequest.post(options.url, {
        headers: { ...options.headers, ...headers, accept },
        body: HttpBody.text(JSON.stringify(body), "application/json")
      })

    const failures = (method: string) => ({
      RequestError: (error: HttpClientError.RequestError) =>
        Effect.fail(
          scrubAiError(AiError.HttpRequestError.fromRequestError({ module: "ChatCompletions", method, error }), options.scrub)
        ),
      ResponseError: (error: HttpClientError.ResponseError) =>
        Effect.mapError(
          AiError.HttpResponseError.fromResponseError({ module: "ChatCompletions", method, error }),
          (e) => scrubAiError(e, options.scrub)
        ),
      ParseError: (error: ParseResult.ParseError) =>
        Effect.fail(AiError.MalformedOutput.fromParseError({ module: "ChatCompletions", method, error }))
    })

    const sendFailures = failures("send")
    const streamFailures = failures("stream")

    const send: ChatClient["send"] = (body, headers) =>
      client.execute(request(body, headers, "application/json")).pipe(
        Effect.flatMap((response) => response.json),
        Effect.flatMap(decodeBody),
        Effect.catchTags(sendFailures)
      )

    const stream: ChatClient["stream"] = (body, headers) =>
      client.execute(request(body, headers, "text/event-stream")).pipe(
        Effect.map((response) => response.stream),
        Stream.unwrapScoped,
        // One stage per read of the body: text decoding, SSE framing and JSON decoding together.
        (bytes) =>
          Stream.suspend(() => {
            let events: Array<string> = []
            const parser = Sse.make((data) => events.push(data))
            const decoder = new TextDecoder()
            return Stream.mapChunksEffect(bytes, (chunk) => {
              for (const piece of chunk) {
                const limit = parser.feed(decoder.decode(piece, { stream: true }))
                if (limit !== undefined) return Effect.fail(malformed("stream", `a stream event is larger than ${limit} characters`))
              }
              const out: Array<WireReply | typeof Done> = []
              for (const data of events) {
                if (data === Done) {
                  out.push(Done)
                  continue
                }
                const decoded = decodeChunk(data)
                if (Either.isLeft(decoded)) return Effect.fail(malformed("stream", "a stream event is not a chat-completions chunk", decoded.left))
                out.push(decoded.right)
              }
              events = []
              return Effect.succeed(Chunk.unsafeFromArray(out))
            })
          }),
        Stream.catchTags({
          RequestError: (e) => Stream.fromEffect(streamFailures.RequestError(e)),
          ResponseError: (e) => Stream.fromEffect(streamFailures.ResponseError(e))
        })
      )

    return { send, stream }
  })
