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
 * - the items as a `Stream` through `Stream.mapEffect` at the concurrency, unordered (as the
 *   runner hands outcomes over in completion order);
 * - optionally a JSON line per item appended to a file through `@effect/platform`'s
 *   `FileSystem` (`FileSystem.sink`), as `Batch.runFile` writes its output.
 *
 * What the runner does on top (the adapter's prompt and parse, `@effect/ai`'s `LanguageModel`,
 * metrics, de-duplication, the rate control, spans) is not here: the distance from this floor to
 * `Batch.run` is what those cost, and the distance from the bare floor to this one is what the
 * building blocks themselves cost.
 */
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

/** The Effect floor's client for a base URL, in the current scope. */
export const make = (base: string, concurrency: number) =>
  Effect.gen(function*() {
    const context = yield* Layer.build(Layer.merge(NodeHttpClient.layerUndici, NodeFileSystem.layer))
    const client = (yield* Effect.provide(HttpClient.HttpClient, context)).pipe(
      HttpClient.mapRequest(HttpClientRequest.prependUrl(`${base}/v1`)),
      HttpClient.filterStatusOk
    )
    const fs = yield* Effect.provide(FileSystem.FileSystem, context)

    const ask = (question: string) =>
      HttpClientRequest.post("/chat/completions").pipe(
        HttpClientRequest.bodyText(requestBody(question), "application/json"),
        client.execute,
        Effect.flatMap(decodeReply),
        Effect.timeoutFail({ duration: ATTEMPT_TIMEOUT, onTimeout: () => new CallTimeout({ afterMillis: Duration.toMillis(ATTEMPT_TIMEOUT) }) }),
        Effect.retry({ schedule: Schedule.exponential(Duration.millis(200)), times: 4, while: isTransient }),
        Effect.map((reply) => ({ question, answer: reply.choices[0].message.content }))
      )

    const answers = (questions: ReadonlyArray<string>) =>
      Stream.fromIterable(questions).pipe(Stream.mapEffect(ask, { concurrency, unordered: true }))

    return {
      /** Runs the questions and collects the answers. */
      run: (questions: ReadonlyArray<string>) => Stream.runCollect(answers(questions)),
      /** Runs the questions, appending a JSON line per answer to `output` as it comes. */
      runToFile: (questions: ReadonlyArray<string>, output: string) =>
        answers(questions).pipe(
          Stream.map((answer) => `${JSON.stringify(answer)}\n`),
          Stream.encodeText,
          Stream.run(fs.sink(output, { flag: "a" }))
        )
    }
  })
