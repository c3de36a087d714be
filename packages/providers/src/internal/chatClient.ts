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

const isText = (u: unknown): boolean => u === null || u === undefined || typeof u === "string"

/**
 * A streamed chunk of the common shape (an envelope of strings and a number, choices whose
 * `delta` holds text only), checked by hand: each such chunk is a token, and the schema's
 * decoder was about a twentieth of the chat server's CPU profile. Anything else (usage, tool
 * calls, logprobs, an error, a key of the wrong type) answers `undefined` and goes through the
 * schema. The schema ignores keys it does not know; so does everything that reads a `WireReply`.
 *
 * @internal
 */
export const textChunk = (json: unknown): WireReply | undefined => {
  if (typeof json !== "object" || json === null || Array.isArray(json)) return undefined
  const reply = json as Record<string, unknown>
  if (!isText(reply["id"]) || !isText(reply["model"]) || !isText(reply["system_fingerprint"])) return undefined
  const created = reply["created"]
  if (created !== undefined && created !== null && typeof created !== "number") return undefined
  if (reply["usage"] !== undefined || reply["x_groq"] !== undefined || "error" in reply) return undefined
  const choices = reply["choices"]
  if (!Array.isArray(choices)) return undefined
  for (const choice of choices as Array<unknown>) {
    if (typeof choice !== "object" || choice === null || Array.isArray(choice)) return undefined
    for (const key in choice) {
      const value = (choice as Record<string, unknown>)[key]
      if (key === "index") {
        if (value !== null && value !== undefined && typeof value !== "number") return undefined
      } else if (key === "finish_reason") {
        if (!isText(value)) return undefined
      } else if (key === "delta") {
        if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined
        for (const field in value) {
          const text = (value as Record<string, unknown>)[field]
          if (field === "content" || field === "reasoning_content" || field === "reasoning" || field === "refusal") {
            if (!isText(text)) return undefined
          } else if (field === "tool_calls") return undefined
        }
      } else if (key === "message" || key === "logprobs" || key === "content_filter_results") return undefined
    }
  }
  return reply as WireReply
}

/** One stream event's data: a chunk, or the schema's verdict on it. */
const readChunk = (data: string): Either.Either<WireReply, ParseResult.ParseError> => {
  let json: unknown
  try {
    json = JSON.parse(data)
  } catch {
    return decodeChunk(data)
  }
  const fast = textChunk(json)
  return fast === undefined ? decodeChunk(data) : Either.right(fast)
}
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
                const decoded = readChunk(data)
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
