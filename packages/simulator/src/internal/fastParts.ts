/**
 * The in-process model's answers as decoded `@effect/ai` response parts, built directly.
 *
 * `LanguageModel.make`'s generic path rebuilds its response Schema on every call and decodes
 * every part with it: for the simulator that is most of a streamed token's cost. The parts a
 * plain answer has are built here as the library's decoding would build them; any other part
 * (tool calls, which only a toolkit asks for) is decoded by the Schema, built once.
 *
 * Mirrors the fast path of `@effect-dspy/providers`' ChatCompletions (the simulator does not
 * depend on the providers package).
 */
import * as AiError from "@effect/ai/AiError"
import * as Response from "@effect/ai/Response"
import * as Toolkit from "@effect/ai/Toolkit"
import * as Chunk from "effect/Chunk"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"

const decodeParts = Schema.decodeUnknown(Schema.mutable(Schema.Array(Response.Part(Toolkit.empty))))
const decodeStreamParts = Schema.decodeUnknown(Schema.Array(Response.StreamPart(Toolkit.empty)))

const metadataPart = (part: Response.ResponseMetadataPartEncoded) =>
  Response.makePart("response-metadata", {
    id: Option.fromNullable(part.id),
    modelId: Option.fromNullable(part.modelId),
    timestamp: part.timestamp === undefined ? Option.none() : DateTime.make(part.timestamp),
    metadata: part.metadata ?? {}
  })

const finishPart = (part: Response.FinishPartEncoded) =>
  Response.makePart("finish", {
    reason: part.reason,
    usage: new Response.Usage(part.usage, { disableValidation: true }),
    metadata: part.metadata ?? {}
  })

const fastParts = (encoded: ReadonlyArray<Response.PartEncoded>): Array<Response.Part<{}>> | undefined => {
  const parts: Array<Response.Part<{}>> = []
  for (const part of encoded) {
    switch (part.type) {
      case "text":
        parts.push(Response.makePart("text", { text: part.text, metadata: part.metadata ?? {} }))
        break
      case "response-metadata":
        parts.push(metadataPart(part))
        break
      case "finish":
        parts.push(finishPart(part))
        break
      default:
        return undefined
    }
  }
  return parts
}

const fastStreamParts = (
  encoded: ReadonlyArray<Response.StreamPartEncoded>
): Array<Response.StreamPart<{}>> | undefined => {
  const parts: Array<Response.StreamPart<{}>> = []
  for (const part of encoded) {
    switch (part.type) {
      case "text-delta":
        parts.push(Response.makePart("text-delta", { id: part.id, delta: part.delta, metadata: part.metadata ?? {} }))
        break
      case "text-start":
        parts.push(Response.makePart("text-start", { id: part.id, metadata: part.metadata ?? {} }))
        break
      case "text-end":
        parts.push(Response.makePart("text-end", { id: part.id, metadata: part.metadata ?? {} }))
        break
      case "response-metadata":
        parts.push(metadataPart(part))
        break
      case "finish":
        parts.push(finishPart(part))
        break
      default:
        return undefined
    }
  }
  return parts
}

/** The decoded parts of a whole answer (no toolkit). */
export const parts = (
  encoded: ReadonlyArray<Response.PartEncoded>
): Effect.Effect<Array<Response.Part<{}>>, AiError.AiError> => {
  const fast = fastParts(encoded)
  return fast !== undefined ? Effect.succeed(fast) : Effect.mapError(decodeParts(encoded), (error) =>
    AiError.MalformedOutput.fromParseError({ module: "LanguageModel", method: "generateText", error }))
}

/** The decoded parts of a streamed answer, in the same chunks (no toolkit). */
export const streamChunk = (
  chunk: Chunk.Chunk<Response.StreamPartEncoded>
): Effect.Effect<Chunk.Chunk<Response.StreamPart<{}>>, AiError.AiError> => {
  const encoded = Chunk.toReadonlyArray(chunk)
  const fast = fastStreamParts(encoded)
  return fast !== undefined
    ? Effect.succeed(Chunk.unsafeFromArray(fast))
    : Effect.mapBoth(decodeStreamParts(encoded), {
      onFailure: (error) => AiError.MalformedOutput.fromParseError({ module: "LanguageModel", method: "streamText", error }),
      onSuccess: Chunk.unsafeFromArray
    })
}
