/**
 * PRIVATE PERFORMANCE CODE (the one such file of the package).
 *
 * What it buys: `LanguageModel.make` (@effect/ai 0.37, `generateContent` and
 * `resolveStructuredOutput` in LanguageModel.ts) builds the response-part Schema
 * (`Schema.mutable(Schema.Array(Response.Part(toolkit)))`) and, for `generateObject`,
 * `Schema.parseJson(schema)`, anew on every call, and compiles a parser for each: the largest
 * single cost of a prediction after the socket. For calls without a toolkit (every `Predict`,
 * `ChainOfThought`, JSON-adapter call) this wraps a service made by `LanguageModel.make` so that
 * `generateText` and `generateObject` decode with parsers built once: same span
 * (`LanguageModel.generateText` / `generateObject`, same attributes), same span transformer,
 * same parts, same errors (`MalformedOutput` from module `LanguageModel` with the `ParseError`,
 * so the JSON adapter's fallback readers still see the reply's text). Calls with a toolkit go
 * to the library.
 *
 * Streams without a toolkit likewise: `streamText` (same span `LanguageModel.streamText`, same
 * attributes, same span transformer, same parts, `MalformedOutput` from module `LanguageModel`,
 * method `streamText`) decodes each chunk of parts with a parser built once, and a text delta
 * (nearly every part of a stream) with no metadata is built as the schema would decode it
 * (`Response.makePart`) without running the schema. The library rebuilds the part schema per
 * stream, decodes every part through it, and provides its `IdGenerator` (used only for tool
 * calls) on every pull of the stream.
 *
 * Measured: `packages/bench/src/peers/run.ts --peer effect-dspy-chat --calls 4000` (Predict at
 * concurrency 64 against the simulator in another process, client CPU per prediction), three
 * interleaved runs each on the dev machine at load average 14: 2005 / 1640 / 1840 µs without,
 * 1430 / 1324 / 1181 µs with (median 1840 → 1324, -28%).
 * Streams: `packages/bench/src/simulator/streamStages.ts --streams 300 --rounds 3 --stages body,model`
 * (stage `model`: 100-token streams, one token per read, in one process), this file's stream
 * path against the library's, interleaved twice (2026-12-06, load 1.8-2.0): 139.6 / 125.7 µs
 * CPU per token without, 62.9 / 81.4 with (-35 to -55%).
 *
 * @internal
 */
import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Prompt from "@effect/ai/Prompt"
import * as Response from "@effect/ai/Response"
import { CurrentSpanTransformer } from "@effect/ai/Telemetry"
import * as Toolkit from "@effect/ai/Toolkit"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"

const decodeParts = Schema.decodeUnknown(Schema.mutable(Schema.Array(Response.Part(Toolkit.empty))))
const decodeStreamPart = Schema.decodeUnknownEither(Response.StreamPart(Toolkit.empty))

// A chunk of stream parts, decoded as `Schema.ChunkFromSelf(Response.StreamPart(Toolkit.empty))` would.
const decodeStreamChunk = (
  chunk: Chunk.Chunk<Response.StreamPartEncoded>
): Either.Either<Chunk.Chunk<Response.StreamPart<{}>>, AiError.MalformedOutput> => {
  const out: Array<Response.StreamPart<{}>> = []
  for (const part of chunk) {
    if (part.type === "text-delta" && part.metadata === undefined && typeof part.delta === "string" && typeof part.id === "string") {
      out.push(Response.makePart("text-delta", { id: part.id, delta: part.delta }))
      continue
    }
    const decoded = decodeStreamPart(part)
    if (Either.isLeft(decoded)) {
      return Either.left(AiError.MalformedOutput.fromParseError({ module: "LanguageModel", method: "streamText", error: decoded.left }))
    }
    out.push(decoded.right)
  }
  return Either.right(Chunk.unsafeFromArray(out))
}

// `Schema.decode(Schema.parseJson(schema))` per result schema (a signature's, reused per call).
const objectDecoders = new WeakMap<Schema.Schema.Any, (text: string) => Effect.Effect<unknown, ParseResult.ParseError, unknown>>()
const decodeObject = (schema: Schema.Schema.Any) => {
  let decode = objectDecoders.get(schema)
  if (decode === undefined) {
    decode = Schema.decode(Schema.parseJson(schema as Schema.Schema<unknown, unknown, unknown>))
    objectDecoders.set(schema, decode)
  }
  return decode
}

const objectNameOf = (objectName: string | undefined, schema: Schema.Schema.Any): string =>
  objectName ?? ("_tag" in schema && typeof schema._tag === "string"
    ? schema._tag
    : "identifier" in schema && typeof schema.identifier === "string"
    ? schema.identifier
    : "generateObject")

/** @internal */
export const withCachedDecoding = (
  service: LanguageModel.Service,
  provider: (options: LanguageModel.ProviderOptions) => Effect.Effect<Array<Response.PartEncoded>, AiError.AiError>,
  streamProvider?: (options: LanguageModel.ProviderOptions) => Stream.Stream<Response.StreamPartEncoded, AiError.AiError>
): Effect.Effect<LanguageModel.Service> =>
  // The span transformer: the call's, else the one where the model was made (as the library).
  Effect.map(Effect.serviceOption(CurrentSpanTransformer), (parentTransformer) => {
  const transformer = Effect.map(Effect.serviceOption(CurrentSpanTransformer), Option.orElse(() => parentTransformer))
  const generate = (
    name: string,
    attributes: Record<string, unknown>,
    prompt: Prompt.RawInput,
    responseFormat: LanguageModel.ProviderOptions["responseFormat"]
  ) =>
    Effect.useSpan(name, { captureStackTrace: false, attributes }, (span) => {
      const options: LanguageModel.ProviderOptions = { prompt: Prompt.make(prompt), tools: [], toolChoice: "none", responseFormat, span }
      return provider(options).pipe(
        Effect.flatMap(decodeParts),
        Effect.tap((content) => Effect.map(transformer, Option.map((transform) => transform({ ...options, response: content })))),
        Effect.catchTag("ParseError", (error) =>
          // The library names generateText here for both methods.
          Effect.fail(AiError.MalformedOutput.fromParseError({ module: "LanguageModel", method: "generateText", error }))),
        Effect.withParentSpan(span)
      )
    })

  const streamText = (
    streamProvider: (options: LanguageModel.ProviderOptions) => Stream.Stream<Response.StreamPartEncoded, AiError.AiError>,
    options: { readonly prompt: Prompt.RawInput; readonly concurrency?: unknown; readonly toolChoice?: unknown }
  ): Stream.Stream<Response.StreamPart<{}>, AiError.AiError> =>
    Stream.unwrapScoped(Effect.gen(function*() {
      const span = yield* Effect.makeSpanScoped("LanguageModel.streamText", {
        captureStackTrace: false,
        attributes: { concurrency: options.concurrency, toolChoice: options.toolChoice }
      })
      const providerOptions: LanguageModel.ProviderOptions = {
        prompt: Prompt.make(options.prompt),
        tools: [],
        toolChoice: "none",
        responseFormat: { type: "text" },
        span
      }
      const parts = Stream.mapChunksEffect(streamProvider(providerOptions), decodeStreamChunk)
      const transform = yield* transformer
      if (Option.isNone(transform)) return parts
      // With a span transformer, the parts are gathered and handed to it when the stream ends.
      const content: Array<Response.StreamPart<{}>> = []
      return parts.pipe(
        Stream.mapChunks((chunk) => {
          for (const part of chunk) content.push(part)
          return chunk
        }),
        Stream.ensuring(Effect.sync(() => transform.value({ ...providerOptions, response: content })))
      )
    }))

  return {
    ...service,
    streamText: (options) =>
      streamProvider === undefined || options.toolkit !== undefined
        ? service.streamText(options)
        // Without a toolkit a stream has no tool parts and fails with `AiError` only.
        : streamText(streamProvider, options) as ReturnType<LanguageModel.Service["streamText"]>,
    generateText: (options) =>
      options.toolkit !== undefined
        ? service.generateText(options)
        // Without a toolkit the response has no tool parts and fails with `AiError` only: exactly
        // this method's types for such options.
        : Effect.map(
          generate("LanguageModel.generateText", { concurrency: options.concurrency, toolChoice: options.toolChoice }, options.prompt, { type: "text" }),
          (content) => new LanguageModel.GenerateTextResponse(content)
        ) as ReturnType<LanguageModel.Service["generateText"]>,
    generateObject: (options) => {
      if (options.toolkit !== undefined) return service.generateObject(options)
      const objectName = objectNameOf(options.objectName, options.schema)
      return Effect.flatMap(
        generate(
          "LanguageModel.generateObject",
          { objectName, concurrency: options.concurrency, toolChoice: options.toolChoice },
          options.prompt,
          { type: "json", objectName, schema: options.schema }
        ),
        (content) => {
          const text = content.flatMap((part) => (part.type === "text" ? [part.text] : []))
          if (text.length === 0) {
            return Effect.fail(new AiError.MalformedOutput({ module: "LanguageModel", method: "generateObject", description: "No object was generated by the large language model" }))
          }
          return Effect.mapBoth(decodeObject(options.schema)(text.join("")), {
            onFailure: (cause) =>
              new AiError.MalformedOutput({ module: "LanguageModel", method: "generateObject", description: "Generated object failed to conform to provided schema", cause }),
            onSuccess: (value) => new LanguageModel.GenerateObjectResponse(value, content)
          })
        }
      ) as ReturnType<LanguageModel.Service["generateObject"]>
    }
  }
})
