/**
 * The Effect floor, level (a): the peers' question -> answer built only from the building blocks
 * the providers issue mandates, with none of effect-dspy's code, written as an Effect user would:
 * `@effect/platform`'s `HttpClient` (`NodeHttpClient.layerUndici`, `Lm.layer`'s default on Node),
 * the request body as JSON with the same `json_schema` response format as the other peers, the
 * reply decoded by Schema decoders made once (`HttpClientResponse.schemaBodyJson` for the
 * completion, `Schema.parseJson` for the `{ answer }` in its content), and the retry policy the
 * openai SDK ships (so that both sides pay for a policy that never fires): `Effect.timeoutFail`
 * per attempt (10 minutes) and `Effect.retry` of transient failures (2 retries, jittered
 * exponential backoff from 500 ms). `Effect.forEach` bounds the concurrency.
 *
 * Streams: the same client's response body through `Stream.decodeText`, `@effect/experimental`'s
 * `Sse.makeChannel` and `JSON.parse` of each event's data (as `@effect/ai-openai`'s client frames
 * its streams), the content deltas joined; the timeout and retries cover the request up to the
 * response headers (as the SDK's do).
 *
 * The difference between this peer and bare `fetch` is what Effect, the platform client and
 * Schema cost; between this peer and `effect-dspy` it is our own code (level (b), through
 * `@effect/ai`'s `LanguageModel.make`, is `effect-ai.ts`).
 */
import * as Sse from "@effect/experimental/Sse"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Data, Duration, Effect, ManagedRuntime, Schedule, Schema, Stream } from "effect"
import { answerJsonSchema, instructions, type Peer } from "./Peer.js"

/** One attempt took longer than the policy's timeout. */
export class AttemptTimedOut extends Data.TaggedError("AttemptTimedOut")<{ readonly after: Duration.Duration }> {}

/** A chat completion, as far as the floor reads it. */
export const Completion = Schema.Struct({
  choices: Schema.NonEmptyArray(Schema.Struct({ message: Schema.Struct({ content: Schema.String }) })),
  usage: Schema.optional(Schema.Struct({ prompt_tokens: Schema.Number, completion_tokens: Schema.Number }))
})

/** One streamed chunk, as far as the floor reads it (parsed with `JSON.parse`, unchecked, as the bare floor does). */
export interface Delta {
  readonly choices: ReadonlyArray<{ readonly delta: { readonly content?: string | null } }>
}

const decodeCompletion = HttpClientResponse.schemaBodyJson(Completion)
const Answer = Schema.Struct({ answer: Schema.String })
const decodeAnswer = Schema.decode(Schema.parseJson(Answer))

// The openai SDK's shipped policy: 10 minutes per attempt, 2 retries of transient failures.
const attemptTimeout = Duration.minutes(10)
const retrySchedule = Schedule.exponential("500 millis").pipe(Schedule.jittered, Schedule.intersect(Schedule.recurs(2)))
const isTransient = (error: HttpClientError.HttpClientError | AttemptTimedOut | { readonly _tag: "ParseError" }): boolean =>
  error._tag === "AttemptTimedOut" || error._tag === "RequestError" ||
  (error._tag === "ResponseError" && (error.response.status === 429 || error.response.status >= 500))

/**
 * The HTTP side of the floor: one completion, or one stream of SSE `data` (without `[DONE]`).
 * `timeout: false` leaves out the per-attempt timeout (for what it costs, in `guard-breakdown.ts`).
 */
export const makeClient = (baseUrl: string, options: { readonly timeout?: boolean } = {}) =>
  Effect.map(HttpClient.HttpClient, (http) => {
    const client = http.pipe(
      HttpClient.mapRequest((request) =>
        request.pipe(HttpClientRequest.prependUrl(baseUrl), HttpClientRequest.bearerToken("sk-sim"))
      ),
      HttpClient.filterStatusOk
    )
    const post = (body: object) => HttpClientRequest.post("/chat/completions").pipe(HttpClientRequest.bodyUnsafeJson(body))
    const policy = <A, E extends Parameters<typeof isTransient>[0], R>(attempt: Effect.Effect<A, E, R>) =>
      (options.timeout === false
        ? attempt
        : Effect.timeoutFail(attempt, { duration: attemptTimeout, onTimeout: () => new AttemptTimedOut({ after: attemptTimeout }) })).pipe(
          Effect.retry({ schedule: retrySchedule, while: isTransient })
        )
    return {
      complete: (body: object) => policy(Effect.flatMap(client.execute(post(body)), decodeCompletion)),
      stream: (body: object) =>
        policy(client.execute(post({ ...body, stream: true }))).pipe(
          Effect.map((response) => response.stream),
          Stream.unwrapScoped,
          Stream.decodeText(),
          Stream.pipeThroughChannel(Sse.makeChannel()),
          Stream.map((event) => event.data),
          Stream.takeWhile((data) => data !== "[DONE]")
        )
    }
  })

/** The chat messages of a question (system instructions, user question). */
export const messages = (question: string) => [
  { role: "system", content: instructions },
  { role: "user", content: question }
]

export const make = (baseUrl: string, options: { readonly timeout?: boolean } = {}): Peer => {
  const runtime = ManagedRuntime.make(NodeHttpClient.layerUndici)
  const responseFormat = { type: "json_schema", json_schema: { name: "answer", schema: answerJsonSchema, strict: true } }
  return {
    name: "Effect floor (platform + Schema)",
    how: "@effect/platform HttpClient (undici), Schema decoders made once, Effect.timeoutFail + Effect.retry per call; Effect.forEach concurrency",
    runAll: (questions, concurrency) =>
      runtime.runPromise(Effect.flatMap(makeClient(baseUrl, options), (client) =>
        Effect.forEach(
          questions,
          (question) =>
            client.complete({ model: "sim-1", messages: messages(question), response_format: responseFormat }).pipe(
              Effect.flatMap((completion) => decodeAnswer(completion.choices[0].message.content))
            ),
          { concurrency }
        ))),
    streamAll: (questions, concurrency) =>
      runtime.runPromise(Effect.flatMap(makeClient(baseUrl, options), (client) =>
        Effect.forEach(
          questions,
          (question) =>
            client.stream({ model: "sim-1", messages: messages(question) }).pipe(
              Stream.runFold("", (text, data) => text + ((JSON.parse(data) as Delta).choices[0]?.delta.content ?? ""))
            ),
          { concurrency }
        ))),
    close: () => runtime.dispose()
  }
}
