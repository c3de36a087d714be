/**
 * The Effect floor, level (b): level (a)'s client (`effect-platform.ts`: HttpClient, Schema,
 * timeout and retry) behind a minimal `@effect/ai` model, `LanguageModel.make({ generateText,
 * streamText })`, as the providers issue mandates for every provider: the prompt's messages sent
 * as chat messages, a `json` response format sent as `json_schema` (its JSON Schema made by
 * `JSONSchema.make` per call, as `@effect/ai-openai` does), the reply returned as response parts.
 * The peer asks with `LanguageModel.generateObject` (schema `{ answer: string }`), so that
 * `@effect/ai` decodes the parts and the object as it does for every provider; streams with
 * `LanguageModel.streamText`. No effect-dspy code.
 *
 * The difference between this peer and level (a) is what `@effect/ai`'s `LanguageModel` costs
 * per call (its span, its part and object decoding); between this peer and `effect-dspy` it is
 * our own code.
 */
import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Prompt from "@effect/ai/Prompt"
import type * as Response from "@effect/ai/Response"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Chunk, Effect, JSONSchema, Layer, ManagedRuntime, Schema, Stream } from "effect"
import { type Delta, makeClient } from "./effect-platform.js"
import { instructions, type Peer } from "./Peer.js"

const module = "FloorModel"

// A prompt's messages as chat messages (text only: the peers send nothing else).
const chatMessages = (prompt: Prompt.Prompt) =>
  prompt.content.map((message) => ({
    role: message.role,
    content: typeof message.content === "string"
      ? message.content
      : message.content.flatMap((part) => (part.type === "text" ? [part.text] : [])).join("")
  }))

const requestBody = (options: LanguageModel.ProviderOptions) => ({
  model: "sim-1",
  messages: chatMessages(options.prompt),
  ...(options.responseFormat.type === "json"
    ? {
      response_format: {
        type: "json_schema",
        json_schema: { name: options.responseFormat.objectName, schema: JSONSchema.make(options.responseFormat.schema), strict: true }
      }
    }
    : {})
})

const makeModel = (baseUrl: string) =>
  Effect.gen(function*() {
    const client = yield* makeClient(baseUrl)
    const failures = (method: string) => ({
      RequestError: (error: Parameters<typeof AiError.HttpRequestError.fromRequestError>[0]["error"]) =>
        Effect.fail(AiError.HttpRequestError.fromRequestError({ module, method, error })),
      ResponseError: (error: Parameters<typeof AiError.HttpResponseError.fromResponseError>[0]["error"]) =>
        AiError.HttpResponseError.fromResponseError({ module, method, error }),
      ParseError: (error: Parameters<typeof AiError.MalformedOutput.fromParseError>[0]["error"]) =>
        Effect.fail(AiError.MalformedOutput.fromParseError({ module, method, error })),
      AttemptTimedOut: () => Effect.fail(new AiError.UnknownError({ module, method, description: "the request timed out" }))
    })
    return yield* LanguageModel.make({
      generateText: (options) =>
        client.complete(requestBody(options)).pipe(
          Effect.map((completion): Array<Response.PartEncoded> => [
            { type: "text", text: completion.choices[0].message.content },
            {
              type: "finish",
              reason: "stop",
              usage: {
                inputTokens: completion.usage?.prompt_tokens,
                outputTokens: completion.usage?.completion_tokens,
                totalTokens: completion.usage === undefined ? undefined : completion.usage.prompt_tokens + completion.usage.completion_tokens
              }
            }
          ]),
          Effect.catchTags(failures("generateText"))
        ),
      streamText: (options) =>
        client.stream(requestBody(options)).pipe(
          Stream.map((data): Response.StreamPartEncoded => ({
            type: "text-delta",
            id: "0",
            delta: (JSON.parse(data) as Delta).choices[0]?.delta.content ?? ""
          })),
          Stream.prepend(Chunk.of<Response.StreamPartEncoded>({ type: "text-start", id: "0" })),
          Stream.concat(Stream.make<Array<Response.StreamPartEncoded>>(
            { type: "text-end", id: "0" },
            { type: "finish", reason: "stop", usage: { inputTokens: undefined, outputTokens: undefined, totalTokens: undefined } }
          )),
          Stream.catchTags({
            RequestError: (error) => Stream.fromEffect(failures("streamText").RequestError(error)),
            ResponseError: (error) => Stream.fromEffect(failures("streamText").ResponseError(error)),
            AttemptTimedOut: () => Stream.fromEffect(failures("streamText").AttemptTimedOut())
          })
        )
    })
  })

const Answer = Schema.Struct({ answer: Schema.String })
const prompt = (question: string): Prompt.RawInput => [
  { role: "system", content: instructions },
  { role: "user", content: question }
]

export const make = (baseUrl: string): Peer => {
  const runtime = ManagedRuntime.make(
    Layer.effect(LanguageModel.LanguageModel, makeModel(baseUrl)).pipe(Layer.provide(NodeHttpClient.layerUndici))
  )
  return {
    name: "Effect floor (@effect/ai LanguageModel)",
    how: "LanguageModel.make over the platform floor's client; LanguageModel.generateObject (Schema); Effect.forEach concurrency",
    runAll: (questions, concurrency) =>
      runtime.runPromise(Effect.forEach(
        questions,
        (question) =>
          Effect.map(LanguageModel.generateObject({ prompt: prompt(question), schema: Answer, objectName: "answer" }), (r) => r.value),
        { concurrency }
      )),
    streamAll: (questions, concurrency) =>
      runtime.runPromise(Effect.forEach(
        questions,
        (question) =>
          LanguageModel.streamText({ prompt: prompt(question) }).pipe(
            Stream.runFold("", (text, part) => (part.type === "text-delta" ? text + part.delta : text))
          ),
        { concurrency }
      )),
    close: () => runtime.dispose()
  }
}
