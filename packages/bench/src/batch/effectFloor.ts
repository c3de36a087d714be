/**
 * The Effect floor of the efficiency benchmark: the work of the bare floor (`bare.ts`: the same
 * chat-completion request body, a parsed 200 per item, items at a fixed concurrency) built only
 * from the building blocks the runner is required to use, with none of effect-dspy's code,
 * written as one would write it with Effect:
 *
 * - `@effect/platform`'s `HttpClient` on undici (`NodeHttpClient.layerUndici`, the providers'
 *   default on Node), `filterStatusOk`, the reply decoded by a Schema whose parser is built once
 *   (`HttpClientResponse.schemaBodyJson`);
 * - per attempt `Effect.timeoutFail`, per item `Effect.retry` (exponential back-off, transient
 *   errors only), as the runner's retry policy does;
 * - the items through `Effect.forEach` at the concurrency;
 * - optionally a JSON line per item appended, as it finishes, to a file opened once through
 *   `@effect/platform`'s `FileSystem`, as `Batch.runFile` writes its output.
 *
 * Why `Effect.forEach` and not a `Stream` (`Stream.mapEffect` at the concurrency, unordered): the
 * stream costs about twice the client CPU per call of the whole floor, so a floor built on it
 * would hide our own costs under the stream's. `hops.ts` prints both rows (`CALLS=1000 ROUNDS=3
 * WARMUP=2000`, 5 ms, concurrency 10, 2026-12-07, best of 3: 504 µs per call through
 * `Effect.forEach`, 1,292 through the stream at load ~7; 543 and 1,059 at load ~9).
 *
 * What the runner does on top (the adapter's prompt and parse, `@effect/ai`'s `LanguageModel`,
 * metrics, de-duplication, the rate control, spans) is not here: the distance from this floor to
 * `Batch.run` is what those cost, and the distance from the bare floor to this one is what the
 * building blocks themselves cost. `languageModel` puts the same call behind `@effect/ai`'s
 * `LanguageModel.make` (a required block too) for `hops.ts`, to tell that block's cost from ours.
 */
import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Prompt from "@effect/ai/Prompt"
import type * as Response from "@effect/ai/Response"
import type { PlatformError } from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Duration, Effect, Layer, Schedule, Schema, Stream } from "effect"
import { requestBody } from "./bare.js"

/** The part of a chat completion the floor reads. */
const ChatCompletion = Schema.Struct({
  id: Schema.String,
  choices: Schema.NonEmptyArray(Schema.Struct({
    index: Schema.Number,
    message: Schema.Struct({ role: Schema.Literal("assistant"), content: Schema.String }),
    finish_reason: Schema.String
  })),
  usage: Schema.Struct({ prompt_tokens: Schema.Number, completion_tokens: Schema.Number })
})

// the reply's parser, built once
const decodeReply = HttpClientResponse.schemaBodyJson(ChatCompletion)

/** An attempt that got no answer in time. */
class CallTimeout extends Schema.TaggedError<CallTimeout>()("CallTimeout", { afterMillis: Schema.Number }) {}

const ATTEMPT_TIMEOUT = Duration.seconds(30)

// retried: timeouts, transport errors and the statuses a server sends when it is busy
const isTransient = (error: HttpClientError.HttpClientError | CallTimeout | { readonly _tag: "ParseError" }): boolean => {
  switch (error._tag) {
    case "CallTimeout":
      return true
    case "RequestError":
      return error.reason === "Transport"
    case "ResponseError":
      return error.response.status === 429 || error.response.status >= 500
    default:
      return false
  }
}

// a prompt message as a chat message: its text parts joined
const chatMessage = (message: Prompt.Message) => ({
  role: message.role,
  content: typeof message.content === "string"
    ? message.content
    : message.content.flatMap((part) => (part.type === "text" ? [part.text] : [])).join("")
})

/** The Effect floor's client for a base URL, in the current scope. */
export const make = (base: string, concurrency: number) =>
  Effect.gen(function*() {
    const context = yield* Layer.build(Layer.merge(NodeHttpClient.layerUndici, NodeFileSystem.layer))
    const client = (yield* Effect.provide(HttpClient.HttpClient, context)).pipe(
      HttpClient.mapRequest(HttpClientRequest.prependUrl(`${base}/v1`)),
      HttpClient.filterStatusOk
    )
    const fs = yield* Effect.provide(FileSystem.FileSystem, context)

    // one chat completion: a JSON body in, the decoded reply out, with a timeout per attempt and retries
    const complete = (body: string) =>
      HttpClientRequest.post("/chat/completions").pipe(
        HttpClientRequest.bodyText(body, "application/json"),
        client.execute,
        Effect.flatMap(decodeReply),
        Effect.timeoutFail({ duration: ATTEMPT_TIMEOUT, onTimeout: () => new CallTimeout({ afterMillis: Duration.toMillis(ATTEMPT_TIMEOUT) }) }),
        Effect.retry({ schedule: Schedule.exponential(Duration.millis(200)), times: 4, while: isTransient })
      )

    const ask = (question: string) =>
      Effect.map(complete(requestBody(question)), (reply) => ({ question, answer: reply.choices[0].message.content }))

    // The same call as `@effect/ai`'s `LanguageModel` (its `generateText` only), as a provider
    // would write it over these blocks: the prompt's messages as chat messages, the reply as parts.
    const languageModel = yield* LanguageModel.make({
      generateText: (options) =>
        complete(JSON.stringify({ model: "sim-1", messages: options.prompt.content.map(chatMessage) })).pipe(
          Effect.map((reply): Array<Response.PartEncoded> => [
            { type: "text", text: reply.choices[0].message.content },
            {
              type: "finish",
              reason: "stop",
              usage: {
                inputTokens: reply.usage.prompt_tokens,
                outputTokens: reply.usage.completion_tokens,
                totalTokens: reply.usage.prompt_tokens + reply.usage.completion_tokens
              }
            }
          ]),
          Effect.mapError((cause) => new AiError.UnknownError({ module: "EffectFloor", method: "generateText", cause }))
        ),
      // (the efficiency benchmark calls no stream)
      streamText: () => Stream.fail(new AiError.UnknownError({ module: "EffectFloor", method: "streamText", description: "not part of the floor" }))
    })

    const answerAll = <A>(questions: ReadonlyArray<string>, f: (answer: { readonly question: string; readonly answer: string }) => Effect.Effect<A, PlatformError>) =>
      Effect.forEach(questions, (question) => Effect.flatMap(ask(question), f), { concurrency })

    return {
      /** One item: a question asked, its reply decoded (timeout and retry included). */
      ask,
      /** The same call behind `@effect/ai`'s `LanguageModel` service. */
      languageModel,
      /** Runs the questions and collects the answers. */
      run: (questions: ReadonlyArray<string>) => answerAll(questions, Effect.succeed),
      /** Runs the questions, appending a JSON line per answer to `output` as it comes. */
      runToFile: (questions: ReadonlyArray<string>, output: string) =>
        Effect.scoped(Effect.gen(function*() {
          const file = yield* fs.open(output, { flag: "a" })
          const encoder = new TextEncoder()
          yield* answerAll(questions, (answer) => file.writeAll(encoder.encode(`${JSON.stringify(answer)}\n`)))
        }))
    }
  })
