/**
 * The in-process model's answers as decoded `@effect/ai` response parts, built directly.
 *
 * `LanguageModel.make`'s generic path rebuilds its response Schema on every call and decodes
 * every part with it: for the simulator that is most of a streamed token's cost. The parts a
 * plain answer has are built here as the library's decoding would build them; any other part
 * (tool calls, which only a toolkit asks for) is decoded by the Schema, built once.
 *
 * The parts are built by core's `ResponseParts`, as in `@effect-dspy/providers`' ChatCompletions.
 */
import * as ResponseParts from "@effect-dspy/core/ResponseParts"
import * as AiError from "@effect/ai/AiError"
import * as Response from "@effect/ai/Response"
import * as Toolkit from "@effect/ai/Toolkit"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

const decodeParts = Schema.decodeUnknown(Schema.mutable(Schema.Array(Response.Part(Toolkit.empty))))
const decodeStreamParts = Schema.decodeUnknown(Schema.Array(Response.StreamPart(Toolkit.empty)))

/** The decoded parts of a whole answer (no toolkit). */
export const parts = (
  encoded: ReadonlyArray<Response.PartEncoded>
): Effect.Effect<Array<Response.Part<{}>>, AiError.AiError> => {
  const fast = ResponseParts.fromEncoded(encoded)
  return fast !== undefined ? Effect.succeed(fast) : Effect.mapError(decodeParts(encoded), (error) =>
    AiError.MalformedOutput.fromParseError({ module: "LanguageModel", method: "generateText", error }))
}

/** The decoded parts of a streamed answer, in the same chunks (no toolkit). */
export const streamChunk = (
  chunk: Chunk.Chunk<Response.StreamPartEncoded>
): Effect.Effect<Chunk.Chunk<Response.StreamPart<{}>>, AiError.AiError> => {
  const encoded = Chunk.toReadonlyArray(chunk)
  const fast = ResponseParts.fromEncodedStream(encoded)
  return fast !== undefined
    ? Effect.succeed(Chunk.unsafeFromArray(fast))
    : Effect.mapBoth(decodeStreamParts(encoded), {
      onFailure: (error) => AiError.MalformedOutput.fromParseError({ module: "LanguageModel", method: "streamText", error }),
      onSuccess: Chunk.unsafeFromArray
    })
}
